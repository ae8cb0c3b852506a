// The rows of vserver stat, computed from process samples and cgroup counters; no I/O here.
import { CLK_TCK } from '../util/procfs.js';
import type { CpuTimes } from './cgroup-types.js';
import type { ProcSample } from './procs.js';

export interface StatRow {
  context: number;
  name: string;
  processes: number;
  /** Sums over the processes, in bytes. */
  vsz: number;
  rss: number;
  /** CPU time in seconds, in user mode and in the kernel. */
  userSec: number;
  sysSec: number;
  uptimeSec: number;
}

export interface GuestSample {
  name: string;
  context: number;
  pids: readonly number[];
  /** The guest's CPU times from its cgroup, which include processes that have exited. */
  usage?: CpuTimes;
  /** The guest init's start, in clock ticks since boot. */
  initStart?: number;
}

/** The host's own processes are context 0, as in Linux-VServer. */
export const HOST_CONTEXT = 0;
export const HOST_NAME = 'root server';

/**
 * One row for the host (every process no guest owns; its times are those of its living processes)
 * and one per guest, in context order.
 */
export function statRows(guests: readonly GuestSample[], procs: ReadonlyMap<number, ProcSample>, hostUptimeSec: number): StatRow[] {
  const owned = new Set<number>();
  const rows: StatRow[] = [];
  for (const g of guests) {
    const own = g.pids.map((p) => procs.get(p)).filter((p): p is ProcSample => p !== undefined);
    for (const p of g.pids) owned.add(p);
    const row = sum(g.context, g.name, own);
    if (g.usage) {
      row.userSec = g.usage.userUsec / 1e6;
      row.sysSec = g.usage.systemUsec / 1e6;
    }
    row.uptimeSec = g.initStart === undefined ? 0 : Math.max(0, hostUptimeSec - g.initStart / CLK_TCK);
    rows.push(row);
  }
  const host = sum(
    HOST_CONTEXT,
    HOST_NAME,
    [...procs.values()].filter((p) => !owned.has(p.pid)),
  );
  host.uptimeSec = hostUptimeSec;
  return [host, ...rows.sort((a, b) => a.context - b.context)].map(round);
}

/** Centiseconds are all the tick counts hold; more digits would be noise. */
function round(r: StatRow): StatRow {
  const c = (n: number) => Math.round(n * 100) / 100;
  return { ...r, userSec: c(r.userSec), sysSec: c(r.sysSec), uptimeSec: c(r.uptimeSec) };
}

function sum(context: number, name: string, procs: readonly ProcSample[]): StatRow {
  const row: StatRow = { context, name, processes: procs.length, vsz: 0, rss: 0, userSec: 0, sysSec: 0, uptimeSec: 0 };
  for (const p of procs) {
    row.vsz += p.vsize;
    row.rss += p.rss;
    row.userSec += p.utime / CLK_TCK;
    row.sysSec += p.stime / CLK_TCK;
  }
  return row;
}
