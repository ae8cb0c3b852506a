// What killed snapshot commands leave, for gc: half-made and half-removed snapshots, a guest left
// frozen, and a restore stopped between moving the old tree out and the restored one in.
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NAME_PATTERN } from '../guest/name.js';
import { removeTree } from '../storage/remove.js';
import { isVsError } from '../util/errors.js';
import { readdirIfExists } from '../util/fs.js';
import { withLock } from '../util/lock.js';
import type { Deps } from './deps.js';
import type { GcReport } from './gc-files.js';
import { isActive } from './state.js';
import { RESTORE_DISCARD, RESTORE_PARTIAL, RESTORE_READY } from './snapshot.js';
import { DELETE_SNAP, NEW_SNAP } from './snapshot-store.js';

export async function sweepSnapshots(deps: Deps): Promise<GcReport[]> {
  const reports: GcReport[] = [];
  const host: GcReport = { removed: [], problems: [] };
  for (const e of readdirIfExists(deps.paths.snapshotsDir)) {
    // the snapshots of a deleted guest, renamed aside by its delete
    if (DELETE_SNAP.test(e)) {
      await removeTree(join(deps.paths.snapshotsDir, e));
      host.removed.push(`snapshots of a deleted guest (${e})`);
    }
  }
  if (host.removed.length > 0) reports.push(host);
  const names = new Set([
    ...readdirIfExists(deps.paths.snapshotsDir).filter((n) => NAME_PATTERN.test(n)),
    ...readdirIfExists(join(deps.paths.run, 'frozen')).filter((n) => NAME_PATTERN.test(n)),
    ...deps.store.names().filter((n) => readdirIfExists(deps.paths.guestDir(n)).some((e) => e.startsWith('.restore-'))),
  ]);
  for (const name of [...names].sort()) {
    const removed: string[] = [];
    try {
      const problems = await withLock(deps.paths.lock(name), 'vserver gc', () => sweepGuest(deps, name, removed), 1000);
      if (removed.length > 0 || problems.length > 0) reports.push({ guest: name, removed, problems });
    } catch (e) {
      if (!isVsError(e, 'BUSY')) throw e;
      reports.push({ guest: name, removed, problems: [], skipped: 'another vserver command is working on it' });
    }
  }
  return reports;
}

/** The caller holds the guest's lock: nothing found here is in use. */
async function sweepGuest(deps: Deps, name: string, removed: string[]): Promise<string[]> {
  const problems: string[] = [];
  const mark = deps.paths.frozenMark(name);
  if (existsSync(mark)) {
    const pid = readFileSync(mark, 'utf8').trim();
    try {
      const rt = await deps.runtime();
      // a frozen guest reads as running from the state file: resume asks the runtime itself
      if (isActive(await rt.state(name))) {
        await rt.resume(name);
        removed.push(`the freeze of a snapshot that died (pid ${pid}): the guest runs again`);
      }
      rmSync(mark, { force: true });
    } catch (e) {
      problems.push(`cannot thaw guest '${name}': ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const snaps = deps.paths.snapshots(name);
  for (const e of readdirIfExists(snaps)) {
    if (!NEW_SNAP.test(e) && !DELETE_SNAP.test(e)) continue;
    await removeTree(join(snaps, e));
    removed.push(
      NEW_SNAP.test(e) ? `half-made snapshot ${e.replace(/^\.new-/, '').replace(/-[a-z0-9]+$/, '')}` : `half-removed snapshot ${e}`,
    );
  }
  const dir = deps.paths.guestDir(name);
  for (const e of readdirIfExists(dir)) {
    if (RESTORE_PARTIAL.test(e)) {
      await removeTree(join(dir, e));
      removed.push('the copy of an interrupted restore (the guest keeps its tree)');
    } else if (RESTORE_DISCARD.test(e)) {
      await removeTree(join(dir, e));
      removed.push('the discarded tree of a restore');
    }
  }
  const ready = join(dir, RESTORE_READY);
  if (existsSync(ready) && deps.store.exists(name)) {
    const part = deps.store.read(name).backend === 'overlay' ? 'upper' : 'rootfs';
    if (existsSync(join(dir, part))) {
      await removeTree(ready);
      removed.push('the copy of an interrupted restore (the guest keeps its tree)');
    } else {
      renameSync(ready, join(dir, part));
      removed.push("an interrupted restore: finished it, the guest has the snapshot's tree");
    }
  }
  return problems;
}
