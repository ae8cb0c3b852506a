// Whether a directory's filesystem shares blocks between files (reflink, the FICLONE ioctl of XFS and
// btrfs): tried on a file of one byte, as cp does it, since the filesystem type alone does not tell
// (XFS made with reflink=0 cannot).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../util/proc.js';
import { uniqueSuffix } from '../util/unique.js';

export async function canReflink(dir: string): Promise<boolean> {
  const probe = join(dir, `.reflink-probe-${uniqueSuffix()}`);
  writeFileSync(probe, 'x', { mode: 0o600 });
  try {
    const r = await run('cp', ['--reflink=always', '--', probe, `${probe}.clone`]);
    return r.code === 0;
  } finally {
    rmSync(probe, { force: true });
    rmSync(`${probe}.clone`, { force: true });
  }
}
