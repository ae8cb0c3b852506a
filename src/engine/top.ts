// vserver top's sampler: each guest's counters straight from its cgroup and its network namespace.
import { readNetDev, netns } from '../resources/procs.js';
import type { TopCounters, TopSample } from '../resources/top.js';
import { VsError } from '../util/errors.js';
import { readIfExists } from '../util/fs.js';
import type { Deps } from './deps.js';

export interface HostSummary {
  /** The 1, 5 and 15 minute load averages. */
  load: string;
  memTotal: number;
  memAvailable: number;
}

/** How long a guest's context number is trusted before its config is read again. */
const CONTEXT_TTL_MS = 30_000;

export class TopSampler {
  private readonly contexts = new Map<string, { context: number | undefined; until: number }>();
  private readonly hostNetns = netns('self');

  constructor(private readonly deps: Deps) {}

  /** The guest's context, or undefined if the cgroup is not one of this installation's guests. */
  private contextOf(name: string, now: number): number | undefined {
    const c = this.contexts.get(name);
    if (c && c.until > now) return c.context;
    let context: number | undefined;
    try {
      context = this.deps.store.read(name).context;
    } catch (e) {
      if (!(e instanceof VsError)) throw e;
    }
    this.contexts.set(name, { context, until: now + CONTEXT_TTL_MS });
    return context;
  }

  /** Guests are found by their cgroups, so a sample reads no runtime state and no configs (after the first). */
  sample(): TopSample {
    const cg = this.deps.cgroups();
    const prefix = this.deps.paths.cgroupPrefix;
    const at = performance.now();
    const guests: TopCounters[] = [];
    for (const cgName of cg.list(prefix)) {
      const name = cgName.slice(prefix.length);
      const context = this.contextOf(name, at);
      if (context === undefined) continue;
      const u = cg.usage(cgName);
      if (!u) continue;
      const pid = cg.pids(cgName)[0];
      // a guest on the host's network has no counters of its own
      const net = pid !== undefined && netns(pid) !== this.hostNetns ? readNetDev(pid) : undefined;
      guests.push({
        name,
        context,
        cpuUsec: u.cpuUsec,
        memory: u.memoryBytes,
        memoryMax: u.memoryMax,
        tasks: u.tasks,
        ioRead: u.ioReadBytes,
        ioWrite: u.ioWriteBytes,
        netRx: net?.rx,
        netTx: net?.tx,
      });
    }
    return { at, guests };
  }

  host(): HostSummary {
    const mem = readIfExists('/proc/meminfo') ?? '';
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(mem)?.[1] ?? 0) * 1024;
    return {
      load: (readIfExists('/proc/loadavg') ?? '').split(' ').slice(0, 3).join(' '),
      memTotal: kb('MemTotal'),
      memAvailable: kb('MemAvailable'),
    };
  }
}
