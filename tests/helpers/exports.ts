// Hand-made exports: a real export with its header (name and config) replaced, as a hostile
// archive author would make one.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { FORMAT, HEADER_MEMBER, MANIFEST_MEMBER, type ManifestRow } from '../../src/storage/archive.js';
import { BLOCK, fileMember, parseHeader } from '../../src/storage/tar/header.js';
import { tarOf, type TarEntry } from './trees.js';

/** The decompressed tar stream of an export. */
export function exportTar(archive: string): Buffer {
  return execFileSync('zstd', ['-dcq', archive], { maxBuffer: 1 << 30 });
}

function headerMember(name: string, config: string): Buffer {
  const header = { format: FORMAT, name, config, exported: new Date().toISOString() };
  return fileMember(HEADER_MEMBER, Buffer.from(JSON.stringify(header)));
}

/** An export made member by member, with the manifest it claims (zstd-compressed, as export writes it). */
export function exportOf(name: string, config: string, tree: TarEntry[], rows: ManifestRow[]): Buffer {
  const manifest = fileMember(MANIFEST_MEMBER, Buffer.from(JSON.stringify({ format: FORMAT, rows })));
  const tar = Buffer.concat([headerMember(name, config), tarOf(tree), manifest, Buffer.alloc(BLOCK * 2)]);
  return execFileSync('zstd', ['-q', '-c'], { input: tar, maxBuffer: 1 << 30 });
}

/** Writes `to` as the export `from` with its config replaced by `config` (TOML text). */
export function withConfig(from: string, to: string, name: string, config: string): void {
  const raw = exportTar(from);
  const size = parseHeader(raw.subarray(0, BLOCK)).size;
  const rest = raw.subarray(BLOCK + Math.ceil(size / BLOCK) * BLOCK);
  const tar = Buffer.concat([headerMember(name, config), rest]);
  writeFileSync(to, execFileSync('zstd', ['-q', '-c'], { input: tar, maxBuffer: 1 << 30 }));
}
