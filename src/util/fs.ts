// Small file helpers shared by the parts.
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { errnoOf, VsError } from './errors.js';

/**
 * The file's text, or undefined if it does not exist; other errors are thrown. A file under /proc of
 * a process that is exiting as it is read gives ESRCH: gone too.
 */
export function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw e;
  }
}

/** The entries of a directory, or none if it does not exist (yet). */
export function readdirIfExists(path: string): string[] {
  try {
    return readdirSync(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw e;
  }
}

/** lstat, or undefined if the path does not exist; other errors are thrown. */
export function lstatIfExists(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Throws ROOTFS_MISSING unless `path` is a directory itself, not a link to one: a tree that came
 * from an archive or a guest may have been replaced by a link to a host directory.
 */
export function requireRealDir(path: string, what: string, hint: string): void {
  const st = lstatIfExists(path);
  if (st?.isDirectory()) return;
  const is =
    st === undefined
      ? 'is missing'
      : st.isSymbolicLink()
        ? `is a symbolic link (to ${JSON.stringify(readlinkSync(path))})`
        : 'is not a directory';
  throw new VsError('ROOTFS_MISSING', `${what} at ${path} ${is}; it must be a real directory`, hint);
}

/** What fn gives, or undefined when the file system refused (any errno): for a cache, which is only ever a shortcut. */
export function orIoError<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (typeof (e as NodeJS.ErrnoException).errno !== 'number') throw e;
    return undefined;
  }
}
