// vserver top's sampler: each guest's counters straight from its cgroup and its network namespace.
import { readNetDev, netns } from '../resources/procs.js';
import type { TopCounters, TopSample } from '../resources/top.js';
import { readIfExists } from '../util/fs.js';
import type { Deps } from './deps.js';
import { tracedSync } from '../util/trace.js';

export interface HostSummary {
  /** The 1, 5 and 15 minute load averages. */
  load: string;
  memTotal: number;
  memAvailable: number;
}

/** How long the guests' context numbers are trusted before the guest index is read again. */
const CONTEXT_TTL_MS = 30_000;

export class TopSampler {
  /** Context numbers by guest name, and the cgroups there were when they were read. */
  private contexts?: { byName: Map<string, number>; seen: Set<string>; until: number };
  private readonly hostNetns = netns('self');

  constructor(private readonly deps: Deps) {}

  /** The guests' contexts from the guest index: read again after a while, or when a guest has started since. */
  private contextsFor(names: readonly string[], now: number): Map<string, number> {
    const c = this.contexts;
    if (c && c.until > now && names.every((n) => c.seen.has(n))) return c.byName;
    const byName = new Map<string, number>();
    for (const g of this.deps.store.summaries()) if (g.summary) byName.set(g.name, g.summary.context);
    this.contexts = { byName, seen: new Set(names), until: now + CONTEXT_TTL_MS };
    return byName;
  }

  /** Guests are found by their cgroups, so a sample reads no runtime state and no configs (only the guest index, now and then). */
  sample(): TopSample {
    return tracedSync('top: sample', () => this.read());
  }

  private read(): TopSample {
    const cg = this.deps.cgroups();
    const prefix = this.deps.paths.cgroupPrefix;
    const at = performance.now();
    const guests: TopCounters[] = [];
    const cgNames = cg.list(prefix);
    const contexts = this.contextsFor(
      cgNames.map((n) => n.slice(prefix.length)),
      at,
    );
    for (const cgName of cgNames) {
      const name = cgName.slice(prefix.length);
      // not one of this installation's guests
      const context = contexts.get(name);
      if (context === undefined) continue;
      const u = cg.usage(cgName, { swap: false });
      if (!u) continue;
      const pid = cg.firstPid(cgName);
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
