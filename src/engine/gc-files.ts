// What killed commands leave besides a guest's run: build and delete directories, unfinished
// trees, directories of runtime probes that died, and locks of dead holders.
import { rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { deadProbes } from '../runtime/select.js';
import { sweepDeadLocks } from '../util/lock.js';
import type { Deps } from './deps.js';
import { sweepExportTemps } from './export-temp.js';
import { sweepLeftovers } from './reserve.js';
import { removeCgroup } from './teardown.js';

/** What gc did for one guest, or for objects no guest owns. */
export interface GcReport {
  /** The guest cleaned up after; absent for objects no guest owns. */
  guest?: string;
  removed: string[];
  problems: string[];
  /** Why the guest was left alone. */
  skipped?: string;
}

/** Build and delete directories and unfinished trees, each named under the guest or template it was for. */
export async function sweepTrees(deps: Deps): Promise<GcReport[]> {
  const { trees, marks } = await sweepLeftovers(deps);
  return [
    ...marks.map((name) => ({ guest: name, removed: ['mark of a build killed after its config was written'], problems: [] })),
    ...trees.map((l) => ({
      guest: l.kind === 'template' ? `template ${l.name}` : l.name,
      removed: [`${l.what} ${l.entry}`],
      problems: [],
    })),
  ];
}

/** Locks of dead holders, named: done first, before gc takes the guests' locks (and would take them over unnamed). */
export function sweepLocks(deps: Deps): string[] {
  return sweepDeadLocks(deps.paths.locks).map((l) => `lock ${l} of a dead command`);
}

/** Probe containers' directories and cgroups: the host's share, after `removed` (the locks). */
export async function sweepRun(deps: Deps, removed: string[]): Promise<GcReport> {
  const problems: string[] = [];
  for (const p of deadProbes(deps.paths)) {
    problems.push(...(await removeCgroup(deps, p.id)));
    rmSync(p.dir, { recursive: true, force: true });
    removed.push(`probe directory ${p.dir.slice(deps.paths.run.length + 1)}`);
  }
  try {
    rmdirSync(join(deps.paths.run, 'probe'));
  } catch {
    /* absent, or a probe is running */
  }
  removed.push(...sweepExportTemps(deps));
  return { removed, problems };
}
