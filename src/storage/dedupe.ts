// Block deduplication across trees on a filesystem with reflinks (XFS, btrfs). Identical files
// are found by size and sha256, then handed to the kernel's FIDEDUPERANGE (through xfs_io, as
// Node cannot call ioctl): the kernel compares the bytes itself under lock and shares the blocks
// only if they are still equal, so a running guest that changes a file meanwhile loses nothing.
import { createHash } from 'node:crypto';
import { closeSync, readSync, statfsSync } from 'node:fs';
import { VsError } from '../util/errors.js';
import { run } from '../util/proc.js';
import { which } from '../util/which.js';
import { openFileIn, walkTree } from './safe-tree.js';

const FS_NAMES: Record<number, string> = {
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0xef53: 'ext4',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlayfs',
};
const REFLINK_FS = new Set(['xfs', 'btrfs']);

export function fsName(path: string): string {
  const t = Number(statfsSync(path).type);
  return FS_NAMES[t] ?? `0x${t.toString(16)}`;
}

export function checkReflinkFs(path: string): void {
  const name = fsName(path);
  if (!REFLINK_FS.has(name)) {
    throw new VsError(
      'UNSUPPORTED',
      `unify is not supported on ${path}: it is on ${name}, which cannot share blocks between files`,
      'keep var/lib/vserver on XFS (with reflink, the default of mkfs.xfs) or btrfs to use unify',
    );
  }
  if (!which('xfs_io')) throw new VsError('DEPENDENCY_MISSING', 'xfs_io is not installed', 'apt-get install xfsprogs');
}

export interface Candidate {
  root: string;
  rel: string;
  size: number;
  dev: number;
  ino: number;
}

/** Regular files of at least minSize bytes under each root (never following links). */
export function collect(roots: string[], minSize: number): Candidate[] {
  const out: Candidate[] = [];
  for (const root of roots) {
    walkTree(root, ({ rel, st }) => {
      if (st.isFile() && st.size >= minSize) out.push({ root, rel, size: st.size, dev: st.dev, ino: st.ino });
    });
  }
  return out;
}

function hashFd(fd: number): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
  }
  return h.digest('hex');
}

/** Groups of distinct inodes with the same device, size and content (pure apart from reading them). */
export function identicalGroups(files: Candidate[]): Candidate[][] {
  const bySize = new Map<string, Candidate[]>();
  const inodes = new Set<string>();
  for (const f of files) {
    const key = `${f.dev}:${f.ino}`;
    if (inodes.has(key)) continue; // hard links are one file already
    inodes.add(key);
    const k = `${f.dev}:${f.size}`;
    bySize.set(k, [...(bySize.get(k) ?? []), f]);
  }
  const groups: Candidate[][] = [];
  for (const same of bySize.values()) {
    if (same.length < 2) continue;
    const byHash = new Map<string, Candidate[]>();
    for (const f of same) {
      const fd = openFileIn(f.root, f.rel);
      if (fd === undefined) continue; // gone or replaced meanwhile
      try {
        const h = hashFd(fd);
        byHash.set(h, [...(byHash.get(h) ?? []), f]);
      } finally {
        closeSync(fd);
      }
    }
    for (const g of byHash.values()) if (g.length > 1) groups.push(g);
  }
  return groups;
}

export interface DedupeResult {
  files: number;
  /** Bytes the kernel reported as deduplicated (already shared bytes count again). */
  deduped: number;
  /** Files that changed between hashing and deduplication, left as they are. */
  skipped: number;
}

const BATCH = 60;

/** Shares each group's blocks with its first file; files are opened here and passed by fd. */
export async function dedupe(groups: Candidate[][]): Promise<DedupeResult> {
  const result: DedupeResult = { files: 0, deduped: 0, skipped: 0 };
  const pairs: [Candidate, Candidate][] = groups.flatMap((g) => g.slice(1).map((d): [Candidate, Candidate] => [g[0]!, d]));
  for (let i = 0; i < pairs.length; i += BATCH) {
    const r = await dedupeBatch(pairs.slice(i, i + BATCH));
    result.files += r.files;
    result.deduped += r.deduped;
    result.skipped += r.skipped;
  }
  return result;
}

async function dedupeBatch(pairs: [Candidate, Candidate][]): Promise<DedupeResult> {
  const fds: number[] = [];
  const result: DedupeResult = { files: 0, deduped: 0, skipped: 0 };
  try {
    const cmds: string[] = [];
    let first: string | undefined;
    for (const [src, dst] of pairs) {
      const s = openFileIn(src.root, src.rel);
      const d = openFileIn(dst.root, dst.rel);
      if (s === undefined || d === undefined) {
        if (s !== undefined) closeSync(s);
        if (d !== undefined) closeSync(d);
        result.skipped++;
        continue;
      }
      fds.push(s, d);
      // in the child, our fds sit at 3, 4, ... in the order given
      const sPath = `/proc/self/fd/${fds.length + 1}`;
      const dPath = `/proc/self/fd/${fds.length + 2}`;
      if (first === undefined) first = dPath;
      else cmds.push('-c', `open -r ${dPath}`);
      cmds.push('-c', `dedupe ${sPath} 0 0 ${dst.size}`);
    }
    if (first === undefined) return result;
    const out = await xfsIo(['-r', ...cmds, first], fds);
    for (const line of out.split('\n')) {
      const m = /deduped (\d+)\/(\d+) bytes/.exec(line);
      if (m) {
        result.deduped += Number(m[1]);
        if (Number(m[1]) > 0) result.files++;
      } else if (/did not match|differ/i.test(line)) result.skipped++;
    }
    return result;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

async function xfsIo(args: string[], fds: number[]): Promise<string> {
  const r = await run('xfs_io', args, {
    stdio: ['ignore', 'pipe', 'pipe', ...fds],
    missing: () => new VsError('DEPENDENCY_MISSING', 'xfs_io is not installed', 'apt-get install xfsprogs'),
  });
  const text = r.stdout + r.stderr;
  if (/Operation not supported|Inappropriate ioctl/i.test(text)) {
    throw new VsError(
      'UNSUPPORTED',
      'this filesystem refuses block deduplication (made without reflink support?)',
      'XFS needs reflink=1 (mkfs.xfs -m reflink=1, the default since xfsprogs 5.1)',
    );
  }
  return text;
}

/** Free bytes of the filesystem holding path. */
export function freeBytes(path: string): number {
  const s = statfsSync(path);
  return Number(s.bfree) * Number(s.bsize);
}
