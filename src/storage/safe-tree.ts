// Reading and writing inside a guest's tree without ever following a link the guest planted.
// Node has no openat(2); /proc/self/fd/N/NAME resolves NAME inside the directory already open as
// fd N, which gives the same guarantee: every component is opened with O_NOFOLLOW, one at a time.
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lchownSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { VsError, errnoOf } from '../util/errors.js';
import { lstatIfExists } from '../util/fs.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_WRONLY, O_CREAT, O_EXCL } = constants;

export function fdPath(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

function components(rel: string): string[] {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new VsError('INVALID_VALUE', `path '${rel}' leaves the tree`, 'use a path inside the guest');
  return parts;
}

/** Opens the directory root/rel, refusing symlinks at every step. The caller closes the fd. */
export function openDirIn(root: string, rel = ''): number {
  let fd = openSync(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  try {
    for (const part of components(rel)) {
      const next = openSync(fdPath(fd, part), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      closeSync(fd);
      fd = next;
    }
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function splitParent(rel: string): [string, string] {
  const parts = components(rel);
  const name = parts.pop();
  if (name === undefined) throw new VsError('INVALID_VALUE', `'${rel}' names the root itself`, 'name a file inside the tree');
  return [parts.join('/'), name];
}

function withParent<T>(root: string, rel: string, fn: (dirFd: number, name: string) => T): T {
  const [dir, name] = splitParent(rel);
  const fd = openDirIn(root, dir);
  try {
    return fn(fd, name);
  } finally {
    closeSync(fd);
  }
}

/** lstat of an entry inside the tree, or undefined if it (or a directory on the way) is missing. */
export function lstatIn(root: string, rel: string): Stats | undefined {
  try {
    return withParent(root, rel, (fd, name) => lstatSync(fdPath(fd, name)));
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR' || errnoOf(e) === 'ELOOP') return undefined;
    throw e;
  }
}

/** Text of a regular file inside the tree; undefined if it is missing or anything but a regular file. */
export function readFileIn(root: string, rel: string, max = 1 << 20): string | undefined {
  let fd: number;
  try {
    fd = withParent(root, rel, (dfd, name) => openSync(fdPath(dfd, name), O_RDONLY | O_NOFOLLOW | constants.O_NONBLOCK));
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw e;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    const buf = Buffer.alloc(max);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, max - n, null);
      if (r === 0 || n + r >= max) {
        n += r;
        break;
      }
      n += r;
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function removeEntry(dirFd: number, name: string): void {
  const st = lstatIfExists(fdPath(dirFd, name));
  if (!st) return;
  if (st.isDirectory()) rmdirSync(fdPath(dirFd, name));
  else unlinkSync(fdPath(dirFd, name));
}

export interface Owner {
  uid: number;
  gid: number;
}

/** Replaces root/rel with a new regular file (whatever was there, a planted symlink included). */
export function writeFileIn(root: string, rel: string, data: string | Buffer, mode: number, owner: Owner): void {
  withParent(root, rel, (dfd, name) => {
    removeEntry(dfd, name);
    const fd = openSync(fdPath(dfd, name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fchownSync(fd, owner.uid, owner.gid);
      fchmodSync(fd, mode);
    } finally {
      closeSync(fd);
    }
  });
}

/** Replaces root/rel with a symlink to target. */
export function symlinkIn(root: string, rel: string, target: string, owner: Owner): void {
  withParent(root, rel, (dfd, name) => {
    removeEntry(dfd, name);
    symlinkSync(target, fdPath(dfd, name));
    lchownSync(fdPath(dfd, name), owner.uid, owner.gid);
  });
}

export interface WalkEntry {
  /** Path relative to the walk's root ('' for the root itself). */
  rel: string;
  st: Stats;
  /** The open directory that holds the entry, and its name there (absent for the root). */
  dirFd?: number;
  name?: string;
}

/** Directories kept open at once while walking; deeper ones are reopened through '..' on the way back. */
const OPEN_DIRS = 64;

interface Frame {
  fd: number;
  rel: string;
  names: string[];
  next: number;
  dev: number;
  ino: number;
}

function listDir(fd: number): string[] {
  try {
    return readdirSync(fdPath(fd));
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return []; // removed while we walked
    throw e;
  }
}

/**
 * Visits every entry under root without following links and without leaving root's filesystem;
 * directories are entered through their open fd, so renaming or replacing them during the walk
 * cannot lead outside. Directories are visited before their contents. Any depth works: the walk
 * keeps its own stack (not the JavaScript one), never builds a path longer than one name, and
 * holds at most OPEN_DIRS directories open.
 */
export function walkTree(root: string, visit: (e: WalkEntry) => void, opts: { oneFs?: boolean } = {}): void {
  const oneFs = opts.oneFs !== false;
  const rootFd = openDirIn(root);
  const rootSt = fstatSync(rootFd);
  const stack: Frame[] = [{ fd: rootFd, rel: '', names: [], next: 0, dev: rootSt.dev, ino: rootSt.ino }];
  try {
    visit({ rel: '', st: rootSt });
    stack[0]!.names = listDir(rootFd);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next >= top.names.length) {
        stack.pop();
        const parent = stack[stack.length - 1];
        try {
          if (parent && parent.fd < 0) parent.fd = reopenParent(top.fd, parent);
        } finally {
          closeSync(top.fd);
        }
        continue;
      }
      const name = top.names[top.next++]!;
      const rel = top.rel === '' ? name : `${top.rel}/${name}`;
      const st = lstatIfExists(fdPath(top.fd, name));
      if (!st) continue; // removed while we walked
      visit({ rel, st, dirFd: top.fd, name });
      if (!st.isDirectory() || (oneFs && st.dev !== rootSt.dev)) continue;
      let child: number;
      try {
        child = openSync(fdPath(top.fd, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      } catch (e) {
        const code = errnoOf(e);
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') continue; // swapped under us
        throw e;
      }
      const at = fstatSync(child);
      stack.push({ fd: child, rel, names: [], next: 0, dev: at.dev, ino: at.ino });
      const far = stack[stack.length - 1 - OPEN_DIRS];
      if (far && far.fd >= 0) {
        closeSync(far.fd);
        far.fd = -1;
      }
      stack[stack.length - 1]!.names = listDir(child);
    }
  } finally {
    for (const f of stack) if (f.fd >= 0) closeSync(f.fd);
  }
}

/** Opens the directory above `fd`, which must still be the one the walk came through. */
function reopenParent(fd: number, want: Frame): number {
  const parent = openSync(fdPath(fd, '..'), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  const st = fstatSync(parent);
  if (st.dev !== want.dev || st.ino !== want.ino) {
    closeSync(parent);
    throw new VsError(
      'BUSY',
      `the tree at '${want.rel}' was moved while it was walked`,
      'run the command again once nothing changes the tree',
    );
  }
  return parent;
}

/** Opens a regular file inside the tree for reading, refusing links; undefined if not a regular file. */
export function openFileIn(root: string, rel: string): number | undefined {
  try {
    const fd = withParent(root, rel, (dfd, name) => openSync(fdPath(dfd, name), O_RDONLY | O_NOFOLLOW | constants.O_NONBLOCK));
    if (fstatSync(fd).isFile()) return fd;
    closeSync(fd);
    return undefined;
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw e;
  }
}
