// Test helpers: tar archives made member by member (hostile ones included), and a digest of a
// tree (content, owners relative to a base, modes, times, links, devices, xattrs, hard links).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BLOCK, encodePax, makeHeader, padding } from '../../src/storage/tar/header.js';

export interface TarEntry {
  name: string;
  type?: '0' | '1' | '2' | '3' | '5' | '6' | 'S';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Extra pax records (path, linkpath, SCHILY.xattr.*, ...). */
  pax?: Record<string, string>;
}

export function tarOf(entries: TarEntry[], opts: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.content ?? '');
    if (e.pax) {
      const body = encodePax(Object.entries(e.pax).map(([k, v]) => [k, Buffer.from(v)]));
      parts.push(makeHeader({ name: 'PaxHeader', type: 'x', size: body.length }), body, Buffer.alloc(padding(body.length)));
    }
    const type = e.type ?? (e.name.endsWith('/') ? '5' : '0');
    parts.push(
      makeHeader({
        name: e.name,
        type,
        size: type === '0' ? data.length : 0,
        mode: e.mode ?? (type === '5' ? 0o755 : 0o644),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        linkname: e.linkname ?? '',
        mtime: 1_700_000_000,
      }),
    );
    if (type === '0') parts.push(data, Buffer.alloc(padding(data.length)));
  }
  if (opts.end !== false) parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

export function compress(tar: Buffer, kind: 'gzip' | 'xz' | 'zstd' | 'none'): Buffer {
  if (kind === 'none') return tar;
  if (kind === 'gzip') return gzipSync(tar);
  return execFileSync(kind, ['-c', '-q'], { input: tar, maxBuffer: 1 << 30 });
}

/** A small but complete root tree as a tarball: busybox's shell is enough to run it. */
export function miniRootTar(extra: TarEntry[] = []): Buffer {
  return tarOf([
    { name: './', type: '5' },
    { name: './etc/', type: '5' },
    { name: './etc/hostname', content: 'old\n' },
    { name: './etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
    { name: './root/', type: '5', mode: 0o700 },
    { name: './home/', type: '5' },
    { name: './home/user/', type: '5', uid: 1000, gid: 1000 },
    { name: './home/user/notes', content: 'mine\n', uid: 1000, gid: 1000, mode: 0o600 },
    { name: './usr/', type: '5' },
    { name: './usr/lib/', type: '5' },
    { name: './usr/lib/os-release', content: 'ID=mini\n' },
    { name: './etc/os-release', type: '2', linkname: '../usr/lib/os-release' },
    { name: './etc/localtime', type: '2', linkname: '/usr/share/zoneinfo/UTC' },
    { name: './usr/lib/hard', type: '1', linkname: './usr/lib/os-release' },
    ...extra,
  ]);
}

/** One line per entry: everything a bit-for-bit copy must keep; owners relative to `base`. */
export function treeDigest(root: string, base: number): Map<string, string> {
  const out = new Map<string, string>();
  const links = new Map<string, string>();
  const xattrs = xattrDump(root);
  const walk = (rel: string) => {
    const p = rel === '' ? root : join(root, rel);
    const st = lstatSync(p, { bigint: true });
    const type = st.isDirectory()
      ? 'd'
      : st.isSymbolicLink()
        ? 'l'
        : st.isFile()
          ? 'f'
          : st.isCharacterDevice()
            ? 'c'
            : st.isBlockDevice()
              ? 'b'
              : st.isFIFO()
                ? 'p'
                : '?';
    const ino = `${st.ino}`;
    let group = '';
    if (type !== 'd' && st.nlink > 1n) {
      group = links.get(ino) ?? rel;
      links.set(ino, group);
    }
    const body = type === 'f' ? createHash('sha256').update(readFileSync(p)).digest('hex') : type === 'l' ? readlinkSync(p) : '';
    const dev = type === 'c' || type === 'b' ? `${st.rdev}` : '';
    // a directory's times change as entries are made in it; its mode, owner and contents are compared
    const mtime = type === 'd' ? '' : `${st.mtimeNs}`;
    out.set(
      rel,
      [
        type,
        (Number(st.mode) & 0o7777).toString(8),
        Number(st.uid) - base,
        Number(st.gid) - base,
        type === 'f' ? st.size : '',
        mtime,
        dev,
        body,
        group,
        xattrs.get(rel) ?? '',
      ].join(' '),
    );
    if (type === 'd') for (const e of readdirSync(p).sort()) walk(rel === '' ? e : `${rel}/${e}`);
  };
  walk('');
  return out;
}

function xattrDump(root: string): Map<string, string> {
  const text = execFileSync('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root], {
    maxBuffer: 1 << 28,
  }).toString();
  const out = new Map<string, string>();
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l !== '');
    const m = /^# file: (.*)$/.exec(lines[0] ?? '');
    if (!m) continue;
    const rel = m[1] === root ? '' : m[1]!.slice(root.length + 1);
    out.set(rel, lines.slice(1).sort().join(','));
  }
  return out;
}

/** A chain of `depth` directories `a` under dir with `leaf` at the bottom, made through fds (no long path). */
export function mkdirDeep(dir: string, depth: number, leaf: string, owner: { uid: number; gid: number }): void {
  let fd = openSync(dir, 'r');
  try {
    for (let i = 0; i < depth; i++) {
      mkdirSync(`/proc/self/fd/${fd}/a`);
      chownSync(`/proc/self/fd/${fd}/a`, owner.uid, owner.gid);
      const next = openSync(`/proc/self/fd/${fd}/a`, 'r');
      closeSync(fd);
      fd = next;
    }
    writeFileSync(`/proc/self/fd/${fd}/${leaf}`, 'bottom\n');
    chownSync(`/proc/self/fd/${fd}/${leaf}`, owner.uid, owner.gid);
  } finally {
    closeSync(fd);
  }
}

/** The path of mkdirDeep's leaf, relative to dir (longer than PATH_MAX: open it with lstatIn). */
export function deepPath(depth: number, leaf: string): string {
  return `${'a/'.repeat(depth)}${leaf}`;
}
