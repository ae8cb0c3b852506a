// Who may pass through guests/NAME and templates/NAME: host root, and the guest's own root id
// (by group, so that only host root can change it), as Incus does. A host user can then neither
// run a set-id program nor open a device node that guest root made in its tree.
import { closeSync, constants, existsSync, fchmodSync, fchownSync, fstatSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { GuestConfig } from '../guest/schema.js';
import { contextRange, type IdRange } from '../guest/idmap.js';
import { writeFileAtomic } from '../util/atomic.js';
import { errnoOf } from '../util/errors.js';
import { readIfExists } from '../util/fs.js';
import type { Deps } from './deps.js';
import { guestIds } from './state.js';

/** Owner, group and mode of a guest's or template's directory (pure); privileged guests have base 0. */
export function treeDirAccess(ids: IdRange): { uid: number; gid: number; mode: number } {
  return { uid: 0, gid: ids.base, mode: 0o710 };
}

/** Gives the directory that access, through an fd opened without following a link. */
export function sealTreeDir(dir: string, ids: IdRange): void {
  const want = treeDirAccess(ids);
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const st = fstatSync(fd);
    if (st.uid !== want.uid || st.gid !== want.gid) fchownSync(fd, want.uid, want.gid);
    if ((st.mode & 0o7777) !== want.mode) fchmodSync(fd, want.mode);
  } finally {
    closeSync(fd);
  }
}

export function sealGuestDir(deps: Deps, name: string, cfg: GuestConfig): void {
  sealTreeDir(deps.paths.guestDir(name), guestIds(deps, cfg));
}

/** Layout 2: guest and template directories sealed (layout 1 left them passable by every user). */
const LAYOUT = '2';

function layoutFile(deps: Deps): string {
  return join(deps.paths.lib, 'layout');
}

/**
 * Moves an installation made by an older version over to the current layout, once: every guest's
 * and template's directory is sealed. A guest whose config cannot be read is left for later.
 */
export function upgradeLayout(deps: Deps): void {
  // every command comes here: once the mark is written, one file read is all it costs
  if (readIfExists(layoutFile(deps))?.trim() === LAYOUT) return;
  // nothing installed yet (one stat, no directory read): whatever is made from now on is made sealed
  if (!existsSync(deps.paths.lib)) return;
  let complete = true;
  const seal = (fn: () => void) => {
    try {
      fn();
    } catch (e) {
      // a missing tree is the guest's own problem (start says so); anything else is retried next time
      if (errnoOf(e) !== 'ENOENT') complete = false;
    }
  };
  for (const t of deps.templates.names()) seal(() => sealTreeDir(deps.paths.template(t), contextRange(deps.templates.read(t).context)));
  for (const name of deps.store.names()) seal(() => sealGuestDir(deps, name, deps.store.read(name)));
  if (complete) seal(() => writeFileAtomic(layoutFile(deps), `${LAYOUT}\n`, 0o644));
}
