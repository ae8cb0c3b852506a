// The host's mount table: which mounts lie under a directory, and taking them down deepest first.
import { readFileSync } from 'node:fs';
import { VsError } from './errors.js';
import { run } from './proc.js';

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
  options: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/PID/mountinfo text (pure). */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const r = right.split(' ');
    out.push({ mountPoint: unescape(f[4] ?? ''), fsType: r[0] ?? '', source: unescape(r[1] ?? ''), options: r[2] ?? '' });
  }
  return out;
}

export function readMounts(): MountEntry[] {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** Mounts at or below dir, deepest first (the order to unmount them in). */
export function mountsUnder(dir: string, mounts: readonly MountEntry[] = readMounts()): MountEntry[] {
  const d = dir.replace(/\/+$/, '');
  return mounts
    .filter((m) => m.mountPoint === d || m.mountPoint.startsWith(`${d}/`))
    .sort((a, b) => b.mountPoint.split('/').length - a.mountPoint.split('/').length);
}

export function isMountPoint(path: string, mounts: readonly MountEntry[] = readMounts()): boolean {
  const p = path.replace(/\/+$/, '');
  return mounts.some((m) => m.mountPoint === p);
}

export async function unmount(path: string, opts: { lazy?: boolean } = {}): Promise<void> {
  const r = await run('umount', [...(opts.lazy ? ['--lazy'] : []), path]);
  if (r.code !== 0 && isMountPoint(path)) {
    throw new VsError(
      'BUSY',
      `cannot unmount ${path}: ${r.stderr.trim().replace(/^umount: /, '')}`,
      `a process on the host still uses it; find it with 'fuser -vm ${path}', stop it and try again`,
    );
  }
}

/**
 * Unmounts everything at or below dir, deepest first. With lazy, a busy mount is detached anyway
 * (used for what a dead build left, which nobody may keep using).
 */
export async function unmountUnder(dir: string, opts: { lazy?: boolean } = {}): Promise<void> {
  // a mount may stack on another at the same point: repeat until none is left
  for (let round = 0; round < 8; round++) {
    const list = mountsUnder(dir);
    if (list.length === 0) return;
    for (const m of list) await unmount(m.mountPoint, opts);
  }
  const left = mountsUnder(dir);
  if (left.length > 0) {
    throw new VsError(
      'BUSY',
      `mounts remain under ${dir}: ${left.map((m) => m.mountPoint).join(', ')}`,
      'unmount them by hand and try again',
    );
  }
}
