// Copying a whole tree: owners, modes, xattrs, hard links, device nodes and links as they are
// (cp -a never follows a symlink in the source); shares blocks where the filesystem can.
import { VsError } from '../util/errors.js';
import { noSpaceError } from '../util/space.js';
import { run, tied } from '../util/proc.js';

export async function copyTree(src: string, dst: string): Promise<void> {
  const [cmd, args] = tied('cp', ['-a', '--reflink=auto', '--no-target-directory', '--one-file-system', src, dst]);
  const r = await run(cmd, args);
  if (r.code !== 0) {
    const detail = r.stderr.trim().split('\n').slice(-2).join('; ');
    if (/No space left on device/.test(r.stderr)) throw noSpaceError(undefined, dst, `copying ${src} to ${dst} (nothing was kept)`);
    throw new VsError('BUILD_FAILED', `copying ${src} failed: ${detail}`, 'nothing was kept; fix the cause and try again');
  }
}
