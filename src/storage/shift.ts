// Moving a guest tree's owners from one id range to another (at build, clone, import, and when
// the context changes). The guest is stopped; nothing is followed: links are changed themselves.
import { chmodSync, lchownSync } from 'node:fs';
import type { IdRange } from '../guest/idmap.js';
import { crashPoint } from '../util/crash.js';
import { fdPath, walkTree } from './safe-tree.js';

function shiftId(id: number, from: IdRange, to: IdRange): number {
  return id >= from.base && id < from.base + from.size ? id - from.base + to.base : id;
}

/**
 * Re-owns every file under root from the `from` range to the `to` range and returns how many it
 * changed. Ids outside `from` are left alone, so a run that was interrupted can simply be repeated
 * (the ranges never overlap). Works at any depth; other filesystems mounted below root are not entered.
 */
export function shiftOwnership(root: string, from: IdRange, to: IdRange): number {
  if (from.base === to.base) return 0;
  let changed = 0;
  walkTree(root, ({ st, dirFd, name }) => {
    const uid = shiftId(st.uid, from, to);
    const gid = shiftId(st.gid, from, to);
    if (uid === st.uid && gid === st.gid) return;
    const path = dirFd === undefined ? root : fdPath(dirFd, name);
    lchownSync(path, uid, gid);
    // chown clears set-user-ID and set-group-ID bits; the guest's su and passwd need them back
    if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) chmodSync(path, st.mode & 0o7777);
    crashPoint('reown', ++changed);
  });
  return changed;
}
