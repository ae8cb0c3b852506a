// Copying a tree to another host with rsync over ssh: owners (as numbers), modes, hard links, ACLs,
// xattrs (file capabilities are one) and sparse files; each run reports how many entries changed.
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { VsError } from '../util/errors.js';
import { lastLines, run, tied } from '../util/proc.js';

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
  /** The receiving rsync's command for the remote shell (--rsync-path), when not plain rsync. */
  rsyncPath?: string;
  /** The remote command reaches rsync's server as words, not through a shell: no --protect-args, so that the target sees (and checks) the paths. */
  plainArgs?: boolean;
}

/**
 * The entries under root whose inode changed at or after `sinceMs` (epoch ms), as rsync's
 * --files-from takes them (NUL-separated): a directory as DIR/. so that its own entries are
 * compared and what went from it is deleted there, anything else by its path. The inode change
 * time is set by the kernel on every write, chmod, chown, xattr, link and rename, and no one can
 * set it back, so no change after `sinceMs` escapes the list.
 */
export async function changedSince(root: string, sinceMs: number): Promise<string[]> {
  const r = await run('find', [root, '-newerct', `@${Math.floor(sinceMs / 1000) - 1}`, '-printf', '%y%P\\0']);
  if (r.code !== 0)
    throw new VsError('INTERNAL', `cannot list what changed under ${root}: ${r.stderr.trim().split('\n').pop() ?? `find exit ${r.code}`}`);
  return r.stdout
    .split('\0')
    .filter((e) => e !== '')
    .map((e) => (e[0] === 'd' ? (e.length === 1 ? '.' : `${e.slice(1)}/.`) : e.slice(1)));
}

/**
 * Whether the tree holds device nodes (an overlay whiteout, 0/0, is none): a user namespace may not
 * make them, so such a tree cannot be received with its owners shifted on the way.
 */
export async function holdsDeviceNodes(root: string): Promise<boolean> {
  const r = await run('find', [root, '(', '-type', 'b', '-o', '-type', 'c', ')', '-printf', '%P\\0']);
  return r.stdout
    .split('\0')
    .filter((p) => p !== '')
    .some((p) => {
      try {
        return lstatSync(join(root, p)).rdev !== 0;
      } catch {
        return false;
      }
    });
}

/**
 * Makes `dest` on the target (an absolute path) hold what `src` holds; returns the number of
 * entries that changed. With `only` (from changedSince), just those entries are compared and sent;
 * rsync starts at once and takes the list when it comes, so the start-up is paid before it is known.
 * A dropped link ends it within `timeoutS`.
 */
export async function rsyncTo(src: string, target: RsyncTarget, dest: string, timeoutS: number, only?: Promise<string[]>): Promise<number> {
  const e = target.ssh.map(rsyncWord).join(' ');
  const [file, args] = tied('rsync', [
    ...RSYNC_FLAGS.filter((f) => !(target.plainArgs && f === '--protect-args')),
    `--timeout=${timeoutS}`,
    '-e',
    e,
    ...(target.rsyncPath === undefined ? [] : [`--rsync-path=${target.rsyncPath}`]),
    // -d: a listed DIR/. has its own entries compared (and what went from it deleted), not its subtree
    ...(only === undefined ? [] : ['-d', '--from0', '--files-from=-']),
    `${src.replace(/\/*$/, '')}/`,
    `${target.host}:${dest}/`,
  ]);
  // the list may come later: rsync connects meanwhile and then waits for it on its stdin
  const r = await run(file, args, only === undefined ? {} : { input: only.then((l) => l.map((e) => `${e}\0`).join('')) });
  if (r.code !== 0) {
    const detail = lastLines(r.stderr);
    const full = /No space left on device|Disk quota exceeded/.test(r.stderr);
    throw new VsError(
      full ? 'NO_SPACE' : 'MIGRATION_FAILED',
      full
        ? `the target's disk is full: copying ${src} to ${target.host} stopped (rsync exit ${r.code}): ${detail}`
        : `copying ${src} to ${target.host} failed (rsync exit ${r.code}): ${detail || 'no message'}`,
      full
        ? "free space on the target (its var/lib/vserver must hold the guest's whole tree, see 'vserver du' here), then migrate again"
        : 'check the link to the target and that rsync is installed there, then migrate again',
    );
  }
  return countChanges(r.stdout);
}
