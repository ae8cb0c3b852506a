// vserver stat: one line per running guest and one for the host, read from /proc and the cgroups.
import { allPids, readProcStat, type ProcSample } from '../resources/procs.js';
import { statRows, type StatRow } from '../resources/stat.js';
import { systemUptime } from '../util/procfs.js';
import type { Deps } from './deps.js';
import { tracedSync } from '../util/trace.js';
import { runningGuests } from './running.js';

export async function statGuests(deps: Deps): Promise<StatRow[]> {
  const guests = await runningGuests(deps);
  const cg = deps.cgroups();
  const samples = tracedSync('stat: cgroups', () => guests.map((g) => ({ g, pids: cg.pids(g.cgroup), usage: cg.cpuTimes(g.cgroup) })));
  const procs = new Map<number, ProcSample>();
  tracedSync('stat: processes', () => {
    for (const pid of allPids()) {
      const p = readProcStat(pid);
      if (p) procs.set(pid, p);
    }
  });
  return statRows(
    samples.map(({ g, pids, usage }) => ({
      name: g.name,
      context: g.context,
      pids,
      usage,
      initStart: procs.get(g.pid)?.start,
    })),
    procs,
    systemUptime(),
  );
}
