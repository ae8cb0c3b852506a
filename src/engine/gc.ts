// gc: cleans up after guests that died without a stop (runtime state, bundle, cgroups, veths,
// nftables tables, network namespace, NICs given to them), the host-wide network objects of
// this installation that no guest owns any more, what killed commands left (gc-files), and
// re-owns a killed command left half done.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NAME_PATTERN } from '../guest/name.js';
import { crashPoint } from '../util/crash.js';
import { isVsError } from '../util/errors.js';
import { readdirIfExists } from '../util/fs.js';
import { withLock } from '../util/lock.js';
import type { Deps } from './deps.js';
import { sweepLocks, sweepRun, sweepTrees, type GcReport } from './gc-files.js';
import { networkLeftovers, sweepNetwork } from './network-teardown.js';
import { limitChangePending } from './limit-change.js';
import { settleLimitChange } from './limit-settle.js';
import { isActive } from './state.js';
import { teardown } from './teardown.js';
import { finishPending } from './reown.js';
import { sweepEscapeGuests } from './escape-guests.js';
import { sweepSnapshots } from './snapshot-gc.js';
import { sweepMigrations } from './migrate-record.js';

export type { GcReport };

export async function gc(deps: Deps): Promise<GcReport[]> {
  const locks = sweepLocks(deps);
  const escapes = await sweepEscapeGuests(deps);
  const rt = await deps.runtime();
  const states = await rt.list();
  const active = new Set(states.filter(isActive).map((s) => s.id));
  const names = new Set([
    ...deps.store.names(),
    ...states.map((s) => s.id),
    ...readdirIfExists(join(deps.paths.run, 'bundles')),
    ...networkLeftovers(deps),
  ]);
  const reports: GcReport[] = escapes.removed.length > 0 || escapes.problems.length > 0 ? [escapes] : [];
  // a migration that died: its guest thawed (or stopped, if it runs on the target) before anything else looks at it
  reports.push(...(await sweepMigrations(deps)));
  for (const name of [...names].sort()) {
    if (active.has(name) && limitChangePending(deps, name)) {
      await withLock(deps.paths.lock(name), 'vserver gc', () => settleLimitChange(deps, name), 1000)
        .then(() =>
          reports.push({ guest: name, removed: ["interrupted limit change (the config's limits are in force again)"], problems: [] }),
        )
        .catch((e: unknown) =>
          reports.push(
            isVsError(e, 'BUSY')
              ? { guest: name, removed: [], problems: [], skipped: 'another vserver command is working on it' }
              : { guest: name, removed: [], problems: [e instanceof Error ? e.message : String(e)] },
          ),
        );
    }
    if (active.has(name) || !NAME_PATTERN.test(name)) continue;
    const removed: string[] = [];
    try {
      const problems = await withLock(
        deps.paths.lock(name),
        'vserver gc',
        async () => {
          // it may have been started since the list was read
          if (isActive(await rt.state(name))) return [];
          return teardown(deps, name, removed);
        },
        1000,
      );
      if (removed.length > 0 || problems.length > 0) reports.push({ guest: name, removed, problems });
    } catch (e) {
      if (!isVsError(e, 'BUSY')) throw e;
      reports.push({ guest: name, removed, problems: [], skipped: 'another vserver command is working on it' });
    }
  }
  for (const name of deps.store.names()) {
    if (existsSync(deps.paths.reownJournal(name))) reports.push(await mendReown(deps, name));
  }
  crashPoint('gc:guests');
  const orphans = await sweepNetwork(deps, (name) => active.has(name));
  if (orphans.removed.length > 0 || orphans.problems.length > 0) reports.push(orphans);
  reports.push(...(await sweepTrees(deps)));
  reports.push(...(await sweepSnapshots(deps)));
  crashPoint('gc:trees');
  const host = await sweepRun(deps, locks);
  if (host.removed.length > 0 || host.problems.length > 0) reports.push(host);
  return reports;
}

/** Finishes a guest's interrupted move to another id range. */
async function mendReown(deps: Deps, name: string): Promise<GcReport> {
  try {
    const done = await withLock(deps.paths.lock(name), 'vserver gc', () => finishPending(deps, name), 1000);
    if (!done) return { guest: name, removed: [], problems: [] };
    const { journal, moved } = done;
    return {
      guest: name,
      removed: [`a half-done re-own (finished the change to ${journal.key} ${journal.value}, ${moved} files moved)`],
      problems: [],
    };
  } catch (e) {
    if (isVsError(e, 'BUSY')) return { guest: name, removed: [], problems: [], skipped: 'another vserver command is working on it' };
    return { guest: name, removed: [], problems: [e instanceof Error ? e.message : String(e)] };
  }
}
