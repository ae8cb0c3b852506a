// GET /1.0/guests?figures=1: beside each running guest, the figures `vserver status` shows, read
// for all guests in one pass over the cgroup files (the same read a metrics scrape makes).
import type { GuestInfo, GuestMetrics } from '../engine/index.js';

export interface GuestFigures {
  cpuSeconds: number;
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  memoryBytes: number;
  /** Absent: no limit. */
  memoryLimitBytes?: number;
  swapBytes?: number;
  processes: number;
  tasks: number;
  pidsLimit?: number;
  oomKills: number;
  /** Unix time init started. */
  startTime?: number;
}

const finite = (n: number | undefined): number | undefined => (n !== undefined && Number.isFinite(n) ? n : undefined);

export function figuresOf(m: GuestMetrics): GuestFigures | undefined {
  const u = m.usage;
  if (!u) return undefined;
  const f: GuestFigures = {
    cpuSeconds: u.cpuUsec / 1e6,
    cpuUserSeconds: u.userUsec / 1e6,
    cpuSystemSeconds: u.systemUsec / 1e6,
    memoryBytes: u.memoryBytes,
    processes: m.processes,
    tasks: u.tasks,
    oomKills: m.events?.oomKills ?? 0,
  };
  const opt: [keyof GuestFigures, number | undefined][] = [
    ['memoryLimitBytes', finite(m.limits?.memoryMax)],
    ['swapBytes', u.swapBytes],
    ['pidsLimit', finite(m.limits?.pidsMax)],
    ['startTime', m.startTime],
  ];
  for (const [k, v] of opt) if (v !== undefined) (f as unknown as Record<string, number>)[k] = v;
  return f;
}

/** The list with figures from `metrics` (read only when a guest runs). */
export async function withFigures(
  list: GuestInfo[],
  metrics: () => Promise<GuestMetrics[]>,
): Promise<(GuestInfo & { figures?: GuestFigures })[]> {
  if (!list.some((g) => g.state === 'running' || g.state === 'paused')) return list;
  const byName = new Map((await metrics()).map((m) => [m.name, m]));
  return list.map((g) => {
    const m = byName.get(g.name);
    const f = m && figuresOf(m);
    return f ? { ...g, processes: f.processes, figures: f } : g;
  });
}
