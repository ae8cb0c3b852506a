// vserver snapshot: a copy of a guest's own tree (a dir guest's rootfs, an overlay guest's upper
// layer), sharing blocks where the filesystem can (reflink), made while a running guest is frozen.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkName } from '../guest/name.js';
import type { GuestConfig } from '../guest/schema.js';
import { copyTree } from '../storage/copy.js';
import { canReflink } from '../storage/reflink.js';
import { removeTree } from '../storage/remove.js';
import { shiftOwnership } from '../storage/shift.js';
import { fsyncDir } from '../util/atomic.js';
import { crashPoint } from '../util/crash.js';
import { errnoOf, VsError } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import { uniqueSuffix } from '../util/unique.js';
import type { Deps } from './deps.js';
import { ensureMounted, unmountGuest } from './mount.js';
import { checkNotReowning } from './reown.js';
import {
  checkSnapName,
  defaultSnapName,
  listSnapshots,
  newSnapDir,
  readMeta,
  removeSnapshotDir,
  treeOf,
  writeMeta,
  type SnapshotInfo,
} from './snapshot-store.js';
import { guestIds, isActive } from './state.js';
import { guestTree } from './trees.js';

export type { SnapshotInfo } from './snapshot-store.js';

/** The part of a guest's directory that is its own: what a snapshot copies and a restore replaces. */
function ownPart(cfg: GuestConfig): 'rootfs' | 'upper' {
  return cfg.backend === 'overlay' ? 'upper' : 'rootfs';
}

/** Copies src to dst with reflinks if dst's filesystem can share blocks, else in full; says which. */
async function copyShared(src: string, dst: string, known?: 'reflink' | 'copy'): Promise<'reflink' | 'copy'> {
  const method = known ?? ((await canReflink(dirname(dst))) ? 'reflink' : 'copy');
  await copyTree(src, dst, method === 'reflink' ? 'always' : 'auto');
  return method;
}

export function createSnapshot(deps: Deps, name: string, snap?: string): Promise<SnapshotInfo> {
  checkName(name);
  const want = checkSnapName(snap ?? defaultSnapName());
  return withLock(deps.paths.lock(name), `vserver snapshot ${name}`, async () => {
    const cfg = deps.store.read(name);
    checkNotReowning(deps, name);
    if (existsSync(deps.paths.snapshot(name, want))) {
      throw new VsError(
        'ALREADY_EXISTS',
        `guest '${name}' already has a snapshot '${want}'`,
        `give another name, or delete it first with 'vserver snapshot delete ${name} ${want}'`,
      );
    }
    const source = guestTree(deps, name, ownPart(cfg));
    const rt = await deps.runtime();
    const running = (await rt.state(name))?.status === 'running';
    const tmp = newSnapDir(deps, name, want);
    try {
      // asked before the freeze, which then lasts only as long as the copy
      const method = (await canReflink(tmp)) ? 'reflink' : 'copy';
      let frozenMs: number | undefined;
      if (running) {
        const t0 = Date.now();
        const thaw = await freeze(deps, name);
        try {
          await copyShared(source, treeOf(tmp), method);
          crashPoint('snapshot:copied');
        } finally {
          await thaw();
        }
        frozenMs = Date.now() - t0;
      } else {
        await copyShared(source, treeOf(tmp), method);
        crashPoint('snapshot:copied');
      }
      const meta: SnapshotInfo = {
        guest: name,
        name: want,
        created: new Date().toISOString(),
        method,
        backend: cfg.backend,
        ids: guestIds(deps, cfg),
        frozen: running,
        ...(frozenMs === undefined ? {} : { frozenMs }),
      };
      writeMeta(tmp, meta);
      renameSync(tmp, deps.paths.snapshot(name, want));
      fsyncDir(deps.paths.snapshots(name));
      return meta;
    } catch (e) {
      await removeTree(tmp);
      throw e;
    }
  });
}

/**
 * Freezes the guest's processes; the returned function thaws them. A mark under run/ records the
 * freeze first, so that gc thaws a guest whose snapshot was killed while it was frozen.
 */
async function freeze(deps: Deps, name: string): Promise<() => Promise<void>> {
  const rt = await deps.runtime();
  const mark = deps.paths.frozenMark(name);
  // left by a snapshot that was killed while the guest was frozen (we hold the lock: it is dead)
  if (existsSync(mark)) await rt.resume(name);
  mkdirSync(dirname(mark), { recursive: true, mode: 0o700 });
  writeFileSync(mark, `${process.pid}\n`, { mode: 0o600 });
  try {
    await rt.pause(name);
  } catch (e) {
    rmSync(mark, { force: true });
    throw e;
  }
  return async () => {
    await rt.resume(name);
    rmSync(mark, { force: true });
  };
}

export function snapshotList(deps: Deps, name: string): SnapshotInfo[] {
  checkName(name);
  deps.store.read(name); // a clear error for a guest that does not exist
  return listSnapshots(deps, name);
}

export function deleteSnapshot(deps: Deps, name: string, snap: string): Promise<void> {
  checkName(name);
  return withLock(deps.paths.lock(name), `vserver snapshot delete ${name} ${snap}`, async () => {
    readMeta(deps, name, snap);
    await removeSnapshotDir(deps, name, snap);
  });
}

export interface RestoreResult {
  restored: SnapshotInfo;
  /** The state before the restore, kept as a snapshot (absent with discard). */
  kept?: SnapshotInfo;
  /** Files moved from the snapshot's id range to the guest's current one. */
  shifted: number;
}

/** Inside guests/NAME: a restored tree being copied, and one copied whole, waiting to be moved in. */
export const RESTORE_PARTIAL = /^\.restore-partial-/;
export const RESTORE_READY = '.restore-ready';
export const RESTORE_DISCARD = /^\.restore-discard-/;

export function restoreSnapshot(deps: Deps, name: string, snap: string, opts: { discard?: boolean } = {}): Promise<RestoreResult> {
  checkName(name);
  checkSnapName(snap);
  return withLock(deps.paths.lock(name), `vserver snapshot restore ${name} ${snap}`, async () => {
    const cfg = deps.store.read(name);
    checkNotReowning(deps, name);
    const meta = readMeta(deps, name, snap);
    if (meta.backend !== cfg.backend) {
      throw new VsError(
        'INVALID_VALUE',
        `snapshot '${snap}' holds a ${meta.backend} guest's tree, but guest '${name}' is a ${cfg.backend} guest now`,
        'a snapshot can only be restored into a guest of the backend it was taken from',
      );
    }
    if (isActive(await (await deps.runtime()).state(name))) {
      throw new VsError(
        'ALREADY_RUNNING',
        `guest '${name}' is running; a restore replaces its tree and needs it stopped`,
        `stop it first with 'vserver stop ${name}'`,
      );
    }
    const part = ownPart(cfg);
    if (cfg.backend !== 'overlay') return restoreTree(deps, name, cfg, snap, meta, part, opts);
    await unmountGuest(deps, name);
    let r: RestoreResult;
    try {
      r = await restoreTree(deps, name, cfg, snap, meta, part, opts);
    } catch (e) {
      // mounted again over the old upper layer; the restore's own error is the one to report
      await ensureMounted(deps, name, cfg).catch(() => undefined);
      throw e;
    }
    await ensureMounted(deps, name, cfg);
    return r;
  });
}

async function restoreTree(
  deps: Deps,
  name: string,
  cfg: GuestConfig,
  snap: string,
  meta: SnapshotInfo,
  part: 'rootfs' | 'upper',
  opts: { discard?: boolean },
): Promise<RestoreResult> {
  const dir = deps.paths.guestDir(name);
  const ready = join(dir, RESTORE_READY);
  // what a killed restore left (we hold the lock): finished if the tree had moved out, else dropped
  if (existsSync(ready)) {
    if (existsSync(join(dir, part))) await removeTree(ready);
    else renameSync(ready, join(dir, part));
  }
  const current = guestTree(deps, name, part);
  const partial = join(dir, `.restore-partial-${uniqueSuffix()}`);
  let shifted = 0;
  try {
    await copyShared(treeOf(deps.paths.snapshot(name, snap)), partial);
    shifted = shiftOwnership(partial, meta.ids, guestIds(deps, cfg));
    crashPoint('restore:copied');
  } catch (e) {
    await removeTree(partial);
    throw e;
  }
  renameSync(partial, ready);
  let kept: SnapshotInfo | undefined;
  let discard: string | undefined;
  try {
    if (opts.discard) {
      discard = join(dir, `.restore-discard-${uniqueSuffix()}`);
      renameSync(current, discard);
    } else kept = await keepCurrent(deps, name, cfg, current);
  } catch (e) {
    // the current tree is still in place: the guest stays as it was
    if (existsSync(current)) await removeTree(ready);
    throw e;
  }
  crashPoint('restore:moved');
  renameSync(ready, current);
  fsyncDir(dir);
  if (discard) await removeTree(discard);
  return { restored: meta, ...(kept ? { kept } : {}), shifted };
}

/** Moves the guest's current tree into a new snapshot (a rename: no copy), named before-restore-TIME. */
async function keepCurrent(deps: Deps, name: string, cfg: GuestConfig, current: string): Promise<SnapshotInfo> {
  let want = `before-restore-${defaultSnapName()}`;
  for (let i = 2; existsSync(deps.paths.snapshot(name, want)); i++) want = `before-restore-${defaultSnapName()}-${i}`;
  const tmp = newSnapDir(deps, name, want);
  const meta: SnapshotInfo = {
    guest: name,
    name: want,
    created: new Date().toISOString(),
    method: 'moved',
    backend: cfg.backend,
    ids: guestIds(deps, cfg),
    frozen: false,
  };
  try {
    renameSync(current, treeOf(tmp));
  } catch (e) {
    // snapshots on another filesystem than the guests: the tree is copied there instead
    if (errnoOf(e) !== 'EXDEV') throw e;
    meta.method = await copyShared(current, treeOf(tmp));
    await removeTree(current);
  }
  try {
    writeMeta(tmp, meta);
    renameSync(tmp, deps.paths.snapshot(name, want));
  } catch (e) {
    if (meta.method === 'moved') renameSync(treeOf(tmp), current);
    await removeTree(tmp);
    throw e;
  }
  return meta;
}
