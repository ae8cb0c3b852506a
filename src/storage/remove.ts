// Removing a whole tree at any depth. GNU rm walks relative to directory fds (fts), so a guest's
// tree deeper than PATH_MAX goes too; it never follows links and stays on one filesystem.
import { VsError } from '../util/errors.js';
import { lstatIfExists } from '../util/fs.js';
import { lastLines, run, tied } from '../util/proc.js';

export async function removeTree(path: string): Promise<void> {
  if (!lstatIfExists(path)) return;
  const [cmd, args] = tied('rm', ['-rf', '--one-file-system', '--', path]);
  const r = await run(cmd, args);
  if (r.code !== 0 || lstatIfExists(path)) {
    const detail = lastLines(r.stderr, 2);
    throw new VsError(
      'BUSY',
      `cannot remove ${path}${detail ? `: ${detail}` : ''}`,
      "unmount what is mounted inside it, then run 'vserver gc'",
    );
  }
}
