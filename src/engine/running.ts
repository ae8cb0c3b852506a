// The running guests and which processes belong to them: the base of stat, ps and top.
import type { Owner } from '../resources/ps.js';
import type { Deps } from './deps.js';
import { isActive } from './state.js';
import { traced, tracedSync } from '../util/trace.js';

export interface RunningGuest {
  name: string;
  context: number;
  /** Host PID of the guest's init. */
  pid: number;
  /** The guest's cgroup name. */
  cgroup: string;
}

/** Guests whose init runs now, read from the guest index and the runtime's state files (no process spawned). */
export async function runningGuests(deps: Deps): Promise<RunningGuest[]> {
  const all = tracedSync('running: configs', () => deps.store.summaries());
  if (all.length === 0) return [];
  const rt = await traced('select the runtime', () => deps.runtime());
  const states = new Map((await traced('running: runtime states', () => rt.list())).map((s) => [s.id, s]));
  const out: RunningGuest[] = [];
  for (const g of all) {
    const st = states.get(g.name);
    if (!g.summary || !isActive(st)) continue;
    out.push({ name: g.name, context: g.summary.context, pid: st.pid, cgroup: deps.paths.cgroupName(g.name) });
  }
  return out;
}

/** PID -> owning guest, from each guest's cgroup. */
export function pidOwners(deps: Deps, guests: readonly RunningGuest[]): Map<number, Owner> {
  const cg = deps.cgroups();
  const out = new Map<number, Owner>();
  for (const g of guests) for (const pid of cg.pids(g.cgroup)) out.set(pid, { context: g.context, name: g.name });
  return out;
}
