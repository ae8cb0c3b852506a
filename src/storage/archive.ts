// The export format: a zstd-compressed POSIX tar of
//   vserver-export.json     name and config (first, so that import knows the guest before its tree)
//   rootfs/...              the tree, owners guest-relative (0..65535), xattrs, hard links, devices
//   vserver-manifest.json   every member's type, mode, owners, size, mtime, link, device and sha256 (last)
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IdRange } from '../security/idmap.js';
import { VsError } from '../util/errors.js';
import { fileMember, parseHeader, BLOCK } from './tar/header.js';
import { TarFilter, type ManifestEntry } from './tar/filter.js';
import { TarPolicyError, TreePolicy } from './tar/policy.js';
import { peek, settle, stage, tarStream, inputStream, TAR_EXTRACT } from './tar/run.js';

export const HEADER_MEMBER = 'vserver-export.json';
export const MANIFEST_MEMBER = 'vserver-manifest.json';
export const FORMAT = 'vserver-export/1';

export interface ExportHeader {
  format: string;
  name: string;
  config: string;
  exported: string;
}

export interface Manifest {
  format: string;
  entries: ManifestEntry[];
}

/** tar's own flags for a tree: POSIX format (long names, big ids, xattrs), numbers for owners. */
export const TAR_CREATE = ['--create', '--file=-', '--format=posix', '--numeric-owner', '--xattrs', '--xattrs-include=*',
  '--one-file-system', '--pax-option=delete=atime,delete=ctime'];

/** zstd's defaults (level 3, one thread; the other core is tar's and ours), the same as the benchmark's baseline. */
export const ZSTD_ARGS = ['-q', '-3', '-c'];

/** GNU tar's --owner-map/--group-map text moving the range down to 0..size-1 (pure). */
export function idMapText(r: IdRange): string {
  if (r.base === 0) return '';
  const lines: string[] = new Array<string>(r.size);
  for (let i = 0; i < r.size; i++) lines[i] = `+${r.base + i} +${i}\n`;
  return lines.join('');
}

/**
 * Streams guestDir/rootfs as an export into `out` (an fd). Resolves with the member count once
 * zstd has written everything.
 */
export async function writeExport(guestDir: string, header: ExportHeader, ids: IdRange, out: number | 'inherit',
  scratch: string): Promise<{ members: number; unmapped: number }> {
  const unmapped = { count: 0 };
  // tar shifts the guest's range down itself (cheaper than rewriting each header here); what is
  // left outside 0..65535 was owned by ids the guest does not have
  const map = join(scratch, `idmap-${process.pid}`);
  writeFileSync(map, idMapText(ids), { mode: 0o600 });
  const tar = stage('tar', ['-C', guestDir, ...TAR_CREATE, `--owner-map=${map}`, `--group-map=${map}`, 'rootfs'], ['ignore', 'pipe']);
  const filter: TarFilter = new TarFilter({
    mapId: (id) => (id < ids.size ? id : (unmapped.count++, 65534)), inputIsGuest: false,
    trailer: (): Buffer => fileMember(MANIFEST_MEMBER, Buffer.from(JSON.stringify({ format: FORMAT, entries: filter.manifest } satisfies Manifest))),
  });
  const zstd = stage('zstd', ZSTD_ARGS, ['pipe', out]);
  // the header member goes first, straight into zstd; then the tree through the filter
  zstd.child.stdin!.write(fileMember(HEADER_MEMBER, Buffer.from(JSON.stringify(header))));
  await settle([pipeline(tar.child.stdout!, filter, zstd.child.stdin! as Writable), tar.done, zstd.done],
    () => { tar.child.kill('SIGKILL'); zstd.child.kill('SIGKILL'); }, 'the export').finally(() => rmSync(map, { force: true }));
  return { members: filter.manifest.length, unmapped: unmapped.count };
}

/** Reads the export's first member (its header) without consuming the stream. */
export async function readExportHeader(file: string): Promise<{ header: ExportHeader; tar: Awaited<ReturnType<typeof tarStream>> }> {
  const what = file === '-' ? 'the export on standard input' : `export ${file}`;
  const tar = await tarStream(inputStream(file), what);
  const { head, stream } = await peek(tar.stream, 64 * 1024);
  tar.stream = stream;
  const bad = (why: string) => {
    tar.kill();
    return new VsError('INVALID_VALUE', `${what} is not a vserver export: ${why}`, "make one with 'vserver export NAME FILE'");
  };
  if (head.length < BLOCK) throw bad('it is too short');
  let h;
  try {
    h = parseHeader(head.subarray(0, BLOCK));
  } catch {
    throw bad('its first member is unreadable');
  }
  if (h.name !== HEADER_MEMBER || h.size > head.length - BLOCK) throw bad(`it does not start with ${HEADER_MEMBER}`);
  let header: ExportHeader;
  try {
    header = JSON.parse(head.subarray(BLOCK, BLOCK + h.size).toString('utf8')) as ExportHeader;
  } catch {
    throw bad(`${HEADER_MEMBER} is not JSON`);
  }
  if (header.format !== FORMAT || typeof header.name !== 'string' || typeof header.config !== 'string') {
    throw bad(`${HEADER_MEMBER} has format ${JSON.stringify(header.format)}, not ${FORMAT}`);
  }
  return { header, tar };
}

/**
 * Extracts the tree of an export into dir (owned by `ids`) and checks every member against the
 * manifest. Throws CHECKSUM_MISMATCH at the first difference.
 */
export async function extractExport(dir: string, tar: Awaited<ReturnType<typeof tarStream>>, ids: IdRange, what: string): Promise<number> {
  let manifest: Manifest | undefined;
  const filter = new TarFilter({
    policy: new TreePolicy('rootfs'),
    inputIsGuest: true,
    maxCapture: 1 << 30,
    mapId: (id, kind, path) => {
      if (id >= ids.size) throw new TarPolicyError(`${JSON.stringify(path)} is owned by ${kind} ${id}, outside a guest's ids`);
      return id + ids.base;
    },
    route: (m) => {
      if (m.path === HEADER_MEMBER) return 'drop';
      if (m.path === MANIFEST_MEMBER) return 'capture';
      if (manifest !== undefined) throw new TarPolicyError(`member ${JSON.stringify(m.path)} follows the manifest`);
      if (m.path === 'rootfs' || m.path.startsWith('rootfs/')) return 'forward';
      throw new TarPolicyError(`member ${JSON.stringify(m.path)} is not part of a guest export`);
    },
    onCapture: (_m, data) => {
      try {
        manifest = JSON.parse(data.toString('utf8')) as Manifest;
      } catch {
        throw new VsError('CHECKSUM_MISMATCH', `${what}: the manifest is not JSON`, 'the file is damaged; export the guest again');
      }
    },
  });
  const tarx = stage('tar', ['-C', dir, ...TAR_EXTRACT], ['pipe', 'ignore']);
  await settle([pipeline(tar.stream, filter, tarx.child.stdin! as Writable), tarx.done, tar.done],
    () => { tar.kill(); tarx.child.kill('SIGKILL'); }, what);
  if (!manifest || !Array.isArray(manifest.entries)) {
    throw new VsError('CHECKSUM_MISMATCH', `${what} has no manifest at its end (is it truncated?)`, 'export the guest again');
  }
  compareManifest(manifest.entries, filter.manifest, what);
  return filter.manifest.length;
}

const FIELDS = ['path', 'type', 'mode', 'uid', 'gid', 'size', 'mtime', 'link', 'device', 'sha256', 'xattrs'];

/** The first difference between what the manifest promises and what arrived (pure). */
export function compareManifest(want: readonly ManifestEntry[], got: readonly ManifestEntry[], what: string): void {
  const n = Math.max(want.length, got.length);
  for (let i = 0; i < n; i++) {
    const w = want[i];
    const g = got[i];
    if (!w || !g) {
      throw new VsError('CHECKSUM_MISMATCH', `${what}: the manifest lists ${want.length} members but the archive holds ${got.length}`,
        'the file is damaged or was changed; export the guest again');
    }
    for (let f = 0; f < FIELDS.length; f++) {
      if (JSON.stringify(w[f]) !== JSON.stringify(g[f])) {
        throw new VsError('CHECKSUM_MISMATCH', `${what}: ${g[0]} differs from the manifest (${FIELDS[f]})`,
          'the file is damaged or was changed; export the guest again');
      }
    }
  }
}

export function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}
