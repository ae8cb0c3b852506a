// Moving a guest tree's owners from one id range to another (at build, clone, import, and when
// the context changes). The guest is stopped; nothing is followed: links are changed themselves.
import { chmodSync, lchownSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { IdRange } from '../security/idmap.js';

function shiftId(id: number, from: IdRange, to: IdRange): number {
  return id >= from.base && id < from.base + from.size ? id - from.base + to.base : id;
}

/**
 * Re-owns every file under root from the `from` range to the `to` range and returns how many it
 * changed. Ids outside `from` are left alone, so a run that was interrupted can simply be repeated.
 * Other filesystems mounted below root are not entered.
 */
export function shiftOwnership(root: string, from: IdRange, to: IdRange): number {
  if (from.base === to.base) return 0;
  const dev = lstatSync(root).dev;
  let changed = 0;
  const stack = [root];
  while (stack.length > 0) {
    const path = stack.pop()!;
    const st = lstatSync(path);
    const uid = shiftId(st.uid, from, to);
    const gid = shiftId(st.gid, from, to);
    if (uid !== st.uid || gid !== st.gid) {
      lchownSync(path, uid, gid);
      // chown clears set-user-ID and set-group-ID bits; the guest's su and passwd need them back
      if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) chmodSync(path, st.mode & 0o7777);
      changed++;
    }
    if (st.isDirectory() && st.dev === dev) for (const e of readdirSync(path)) stack.push(join(path, e));
  }
  return changed;
}
