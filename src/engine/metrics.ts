// The figures a metrics scrape reports per running guest, read from the cgroup files and /proc once
// per scrape, with no process spawned per guest.
import { readFileSync } from 'node:fs';
import type { CgroupEvents, CgroupLimits, CgroupUsage } from '../resources/cgroup.js';
import { parseNetDevices, type NetDevice } from '../resources/procs.js';
import { CLK_TCK, processStartTime } from '../util/procfs.js';
import type { Deps } from './deps.js';
import { isActive } from './state.js';

export interface GuestMetrics {
  name: string;
  context: number;
  /** Unix time (seconds) init started. */
  startTime?: number;
  processes: number;
  usage?: CgroupUsage;
  limits?: CgroupLimits;
  events?: CgroupEvents;
  net: NetDevice[];
}

/** Boot time in Unix seconds (btime of /proc/stat): process start times are counted from it. */
function bootTime(): number {
  return Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? 0);
}

export async function guestMetrics(deps: Deps): Promise<GuestMetrics[]> {
  const states = new Map((await (await deps.runtime()).list()).map((s) => [s.id, s]));
  const cg = deps.cgroups();
  const boot = bootTime();
  const out: GuestMetrics[] = [];
  for (const g of deps.store.readAll()) {
    const st = states.get(g.name);
    if (!g.config || !isActive(st)) continue;
    // a daemon samples every few seconds: its requests are served between guests, not after all of them
    if (out.length > 0 && out.length % 8 === 0) await new Promise((r) => setImmediate(r));
    const cgName = deps.paths.cgroupName(g.name);
    const ticks = processStartTime(st.pid);
    let net: NetDevice[] = [];
    try {
      net = parseNetDevices(readFileSync(`/proc/${st.pid}/net/dev`, 'utf8'));
    } catch {
      /* init just exited: no counters */
    }
    out.push({
      name: g.name,
      context: g.config.context,
      processes: cg.pids(cgName).length,
      net,
      ...(ticks === undefined ? {} : { startTime: boot + Number(ticks) / CLK_TCK }),
      usage: cg.usage(cgName),
      limits: cg.limits(cgName),
      events: cg.events(cgName),
    });
  }
  return out;
}
