// Deleting a guest: only its own tree and config; never a running guest unless forced.
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { uniqueSuffix } from '../util/unique.js';
import { checkName } from '../guest/name.js';
import { VsError } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import type { Deps } from './deps.js';
import { registry } from './ranges.js';
import { isActive } from './state.js';
import { stopLocked } from './stop.js';
import { teardown } from './teardown.js';
import { unmountGuest } from './mount.js';
import { mountsUnder } from '../util/mounts.js';
import { removeTree } from '../storage/remove.js';
import { detachSnapshots } from './snapshot-store.js';

export function deleteGuest(deps: Deps, name: string, opts: { force?: boolean } = {}): Promise<void> {
  checkName(name);
  return withLock(deps.paths.lock(name), `vserver delete ${name}`, () => deleteLocked(deps, name, opts));
}

/** delete, for a caller that holds the guest's lock (migrate, once the guest runs on the target). */
export async function deleteLocked(deps: Deps, name: string, opts: { force?: boolean } = {}): Promise<void> {
  {
    // existence, not validity: a guest whose config is broken can still be deleted
    if (!deps.store.exists(name)) deps.store.read(name);
    let context: number | undefined;
    try {
      context = deps.store.read(name).context;
    } catch {
      /* a broken config: its range is given back when another installation finds the claim stale */
    }
    const st = await (await deps.runtime()).state(name);
    if (isActive(st)) {
      if (!opts.force) {
        throw new VsError(
          'ALREADY_RUNNING',
          `guest '${name}' is running; refusing to delete it`,
          `stop it first with 'vserver stop ${name}', or use 'vserver delete --force ${name}'`,
        );
      }
      await stopLocked(deps, name, { kill: true });
    } else {
      await teardown(deps, name);
    }
    const dir = deps.paths.guestDir(name);
    // an overlay guest's merged tree goes first: what is removed below is only the guest's own
    // upper and work directories, never the shared template under them
    await unmountGuest(deps, name);
    const mounted = mountsUnder(dir);
    if (mounted.length > 0) {
      throw new VsError(
        'BUSY',
        `something is mounted inside guest '${name}' (${mounted.map((m) => m.mountPoint).join(', ')})`,
        "unmount it first; delete removes only the guest's own files",
      );
    }
    // moved aside first, so that an interrupted delete never leaves a half tree under the guest's name
    const trash = join(deps.paths.guestsDir, `.delete-${name}-${uniqueSuffix()}`);
    if (existsSync(dir)) renameSync(dir, trash);
    // its snapshots go with it (a half-removed set is gc's)
    const snapshots = detachSnapshots(deps, name);
    deps.store.remove(name);
    if (context !== undefined) registry(deps).release(context);
    // rm removes links themselves and never follows them out of the tree
    await removeTree(trash);
    await snapshots.remove();
    await stopLxcfsIfIdle(deps);
  }
}

/** With the last guest gone, the lxcfs started for the guests goes too: no mount stays behind. */
export async function stopLxcfsIfIdle(deps: Deps): Promise<void> {
  if (deps.store.names().length === 0 && (await (await deps.runtime()).list()).length === 0) await deps.lxcfs().shutdown();
}
