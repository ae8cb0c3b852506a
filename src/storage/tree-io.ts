// A guest tree as the few operations its set-up needs, for a plain tree and for an overlay whose
// upper directory is written directly (before it is mounted: no mount needed to build a guest).
import { chmodSync, chownSync, mkdirSync, utimesSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { lstatIn, readFileIn, symlinkIn, writeFileIn, type Owner } from './safe-tree.js';

export interface TreeIO {
  lstat(rel: string): Stats | undefined;
  read(rel: string): string | undefined;
  write(rel: string, data: string, mode: number, owner: Owner): void;
  symlink(rel: string, target: string, owner: Owner): void;
}

export function plainTree(root: string): TreeIO {
  return {
    lstat: (rel) => lstatIn(root, rel),
    read: (rel) => readFileIn(root, rel),
    write: (rel, data, mode, owner) => writeFileIn(root, rel, data, mode, owner),
    symlink: (rel, target, owner) => symlinkIn(root, rel, target, owner),
  };
}

/** overlayfs marks a deleted lower file with a 0/0 character device in the upper directory. */
function isWhiteout(st: Stats | undefined): boolean {
  return st?.isCharacterDevice() === true && st.rdev === 0;
}

/**
 * The merged view of lower + upper, written into upper the way overlayfs copies up: each parent
 * directory is made in upper with the lower directory's mode, owner and times. Only for an
 * overlay that is not mounted (overlayfs allows changing its layers then).
 */
export function overlayTree(lower: string, upper: string): TreeIO {
  const look = (rel: string): { root: string; st: Stats } | undefined => {
    const up = lstatIn(upper, rel);
    if (isWhiteout(up)) return undefined;
    if (up) return { root: upper, st: up };
    const low = lstatIn(lower, rel);
    return low ? { root: lower, st: low } : undefined;
  };
  const parents = (rel: string) => {
    const parts = rel.split('/').filter((p) => p !== '');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (lstatIn(upper, dir)?.isDirectory()) continue;
      const low = lstatIn(lower, dir);
      if (!low?.isDirectory()) throw new Error(`${dir} is not a directory in the template`);
      // the parent exists in upper by now and is a real directory (checked above, step by step)
      const path = join(upper, dir);
      mkdirSync(path);
      chownSync(path, low.uid, low.gid);
      chmodSync(path, low.mode & 0o7777);
      utimesSync(path, low.atime, low.mtime);
    }
  };
  return {
    lstat: (rel) => look(rel)?.st,
    read: (rel) => {
      const at = look(rel);
      return at ? readFileIn(at.root, rel) : undefined;
    },
    write: (rel, data, mode, owner) => {
      parents(rel);
      writeFileIn(upper, rel, data, mode, owner);
    },
    symlink: (rel, target, owner) => {
      parents(rel);
      symlinkIn(upper, rel, target, owner);
    },
  };
}
