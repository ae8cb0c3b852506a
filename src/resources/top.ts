// vserver top's figures: rates from two samples of each guest's counters, and the sort orders; no I/O here.

export interface TopCounters {
  name: string;
  context: number;
  cpuUsec: number;
  memory: number;
  memoryMax: number;
  tasks: number;
  ioRead: number;
  ioWrite: number;
  /** Bytes through the guest's network interfaces (loopback not counted); absent when it shares the host's network. */
  netRx?: number;
  netTx?: number;
}

export interface TopSample {
  /** Monotonic time of the sample, in milliseconds. */
  at: number;
  guests: TopCounters[];
}

/** What top shows of a guest: ioRead, ioWrite, netRx and netTx here are bytes per second. */
export type TopRow = Omit<TopCounters, 'cpuUsec'> & {
  /** Percent of one core over the interval. */
  cpuPct: number;
};

/** Rates between two samples; a guest new in `cur` shows zero rates until the next sample. */
export function topRows(prev: TopSample | undefined, cur: TopSample): TopRow[] {
  const before = new Map(prev?.guests.map((g) => [g.name, g]));
  const secs = prev ? Math.max(0.001, (cur.at - prev.at) / 1000) : 1;
  return cur.guests.map((g) => {
    const p = before.get(g.name);
    const rate = (a: number | undefined, b: number | undefined) =>
      a === undefined ? undefined : p && b !== undefined ? Math.max(0, a - b) / secs : 0;
    return {
      name: g.name,
      context: g.context,
      memory: g.memory,
      memoryMax: g.memoryMax,
      tasks: g.tasks,
      cpuPct: p ? Math.max(0, g.cpuUsec - p.cpuUsec) / 1e4 / secs : 0,
      ioRead: rate(g.ioRead, p?.ioRead) ?? 0,
      ioWrite: rate(g.ioWrite, p?.ioWrite) ?? 0,
      netRx: rate(g.netRx, p?.netRx),
      netTx: rate(g.netTx, p?.netTx),
    };
  });
}

export const TOP_SORTS = {
  cpu: (r: TopRow) => r.cpuPct,
  mem: (r: TopRow) => r.memory,
  pids: (r: TopRow) => r.tasks,
  io: (r: TopRow) => r.ioRead + r.ioWrite,
  net: (r: TopRow) => (r.netRx ?? 0) + (r.netTx ?? 0),
  name: (r: TopRow) => r.name,
  ctx: (r: TopRow) => r.context,
} as const;

export type TopSort = keyof typeof TOP_SORTS;

/** Figures largest first, names and contexts in ascending order; `reverse` turns it round. */
export function sortTopRows(rows: readonly TopRow[], by: TopSort, reverse = false): TopRow[] {
  const key = TOP_SORTS[by];
  const ascending = by === 'name' || by === 'ctx';
  const out = [...rows].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    const c = typeof x === 'string' ? x.localeCompare(y as string) : (x as number) - (y as number);
    return (ascending ? c : -c) || a.name.localeCompare(b.name);
  });
  return reverse ? out.reverse() : out;
}
