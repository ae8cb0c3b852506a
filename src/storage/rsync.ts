// Copying a tree to another host with rsync over ssh: owners (as numbers), modes, hard links, ACLs,
// xattrs (file capabilities are one) and sparse files; each run reports how many entries changed.
import { VsError } from '../util/errors.js';
import { run, tied } from '../util/proc.js';

/** -a (links, perms, times, owners, devices), -H hard links, -A ACLs, -X xattrs, -S sparse files. */
export const RSYNC_FLAGS = ['-aHAXS', '--numeric-ids', '--delete', '--itemize-changes', '--protect-args'] as const;

/**
 * One word for rsync's -e: rsync splits that string at spaces and honours quotes but not
 * backslashes, so a word is quoted with the quote it does not hold.
 */
export function rsyncWord(w: string): string {
  if (w !== '' && /^[\w@%+=:,./-]+$/.test(w)) return w;
  if (!w.includes("'")) return `'${w}'`;
  if (!w.includes('"')) return `"${w}"`;
  throw new VsError(
    'INVALID_VALUE',
    `ssh option ${JSON.stringify(w)} holds both kinds of quote, which rsync cannot pass on`,
    'put the option in an ssh config file and pass -F FILE instead',
  );
}

/** How many entries an --itemize-changes listing says were sent, changed or deleted. */
export function countChanges(listing: string): number {
  return listing.split('\n').filter((l) => /^(\*deleting +|[<>ch.][fdLDS][^ ]{7,9} )/.test(l)).length;
}

export interface RsyncTarget {
  /** ssh's argument vector up to (not including) the host: program and options. */
  ssh: readonly string[];
  /** user@host */
  host: string;
}

/**
 * Makes `dest` on the target (an absolute path) hold what `src` holds; returns the number of
 * entries that changed. A dropped link ends it within `timeoutS`.
 */
export async function rsyncTo(src: string, target: RsyncTarget, dest: string, timeoutS: number): Promise<number> {
  const e = target.ssh.map(rsyncWord).join(' ');
  const [file, args] = tied('rsync', [
    ...RSYNC_FLAGS,
    `--timeout=${timeoutS}`,
    '-e',
    e,
    `${src.replace(/\/*$/, '')}/`,
    `${target.host}:${dest}/`,
  ]);
  const r = await run(file, args);
  if (r.code !== 0) {
    const detail = r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(-3)
      .join('; ');
    const full = /No space left on device|Disk quota exceeded/.test(r.stderr);
    throw new VsError(
      full ? 'NO_SPACE' : 'MIGRATION_FAILED',
      `copying ${src} to ${target.host} failed (rsync exit ${r.code}): ${detail || 'no message'}`,
      full
        ? 'free space on the target, then migrate again'
        : 'check the link to the target and that rsync is installed there, then migrate again',
    );
  }
  return countChanges(r.stdout);
}
