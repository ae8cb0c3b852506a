// A bounded per-guest history of the figures the dashboard charts, sampled from the engine's metrics.
// Three rings per guest: every sample for 5 min, 1-minute means for 1 h, 10-minute means for 24 h.
import type { GuestMetrics } from '../engine/metrics.js';
import type { HistoryPoint, HistoryRange } from '../wire/history.js';

/** Each range: seconds per point and points kept. */
export const TIERS: Record<HistoryRange, { step: number; points: number }> = {
  '5m': { step: 5, points: 60 },
  '1h': { step: 60, points: 60 },
  '24h': { step: 600, points: 144 },
};

/** Guests with a history, at most; the one seen longest ago goes first. */
export const MAX_GUESTS = 2048;
/** A guest not seen running for this long loses its history. */
const FORGET_AFTER_S = 24 * 3600;

interface Counters {
  t: number;
  cpuUsec: number;
  rx: number;
  tx: number;
  read: number;
  write: number;
}

interface GuestHistory {
  last?: Counters;
  seen: number;
  rings: Record<HistoryRange, HistoryPoint[]>;
  /** Points not yet folded into the coarser rings. */
  pending: Record<'1h' | '24h', HistoryPoint[]>;
}

const mean = (pts: HistoryPoint[], t: number): HistoryPoint => {
  const avg = (k: 'cpu' | 'memory' | 'rx' | 'tx' | 'read' | 'write' | 'processes') => pts.reduce((s, p) => s + p[k], 0) / pts.length;
  return {
    t,
    cpu: avg('cpu'),
    memory: avg('memory'),
    memoryLimit: pts.at(-1)!.memoryLimit,
    rx: avg('rx'),
    tx: avg('tx'),
    read: avg('read'),
    write: avg('write'),
    processes: avg('processes'),
  };
};

const push = (ring: HistoryPoint[], p: HistoryPoint, max: number) => {
  ring.push(p);
  if (ring.length > max) ring.splice(0, ring.length - max);
};

function counters(m: GuestMetrics, t: number): Counters {
  const sum = (k: 'rxBytes' | 'txBytes') => m.net.filter((d) => d.device !== 'lo').reduce((s, d) => s + d[k], 0);
  return {
    t,
    cpuUsec: (m.usage?.userUsec ?? 0) + (m.usage?.systemUsec ?? 0),
    rx: sum('rxBytes'),
    tx: sum('txBytes'),
    read: m.usage?.ioReadBytes ?? 0,
    write: m.usage?.ioWriteBytes ?? 0,
  };
}

/** A rate from two counter readings; a counter that went back (the guest restarted) counts from zero. */
const rate = (now: number, before: number, dt: number) => (now >= before ? now - before : now) / dt;

export class History {
  private readonly guests = new Map<string, GuestHistory>();

  /** Adds one sample of every running guest taken at `t` (Unix seconds). */
  add(metrics: readonly GuestMetrics[], t: number): void {
    for (const m of metrics) {
      let h = this.guests.get(m.name);
      if (h === undefined) {
        h = { seen: t, rings: { '5m': [], '1h': [], '24h': [] }, pending: { '1h': [], '24h': [] } };
        this.guests.set(m.name, h);
      }
      const c = counters(m, t);
      const last = h.last;
      h.last = c;
      h.seen = t;
      // the first sample of a guest only sets the counters that rates start from
      if (last === undefined || c.t <= last.t) continue;
      const dt = c.t - last.t;
      const limit = m.limits?.memoryMax;
      const p: HistoryPoint = {
        t,
        cpu: rate(c.cpuUsec, last.cpuUsec, dt) / 1e6,
        memory: m.usage?.memoryBytes ?? 0,
        memoryLimit: limit === undefined || !Number.isFinite(limit) ? null : limit,
        rx: rate(c.rx, last.rx, dt),
        tx: rate(c.tx, last.tx, dt),
        read: rate(c.read, last.read, dt),
        write: rate(c.write, last.write, dt),
        processes: m.processes,
      };
      this.fold(h, p);
    }
    this.forget(t);
  }

  private fold(h: GuestHistory, p: HistoryPoint): void {
    push(h.rings['5m'], p, TIERS['5m'].points);
    for (const range of ['1h', '24h'] as const) {
      const { step, points } = TIERS[range];
      const pending = h.pending[range];
      // a point closes the bucket before it when it falls into a later one
      if (pending.length > 0 && Math.floor(p.t / step) !== Math.floor(pending[0]!.t / step)) {
        push(h.rings[range], mean(pending, (Math.floor(pending[0]!.t / step) + 1) * step), points);
        pending.length = 0;
      }
      pending.push(p);
    }
  }

  private forget(now: number): void {
    for (const [name, h] of this.guests) if (now - h.seen > FORGET_AFTER_S) this.guests.delete(name);
    if (this.guests.size <= MAX_GUESTS) return;
    const oldest = [...this.guests].sort((a, b) => a[1].seen - b[1].seen).slice(0, this.guests.size - MAX_GUESTS);
    for (const [name] of oldest) this.guests.delete(name);
  }

  /** Drops a guest's history (it was deleted). */
  drop(name: string): void {
    this.guests.delete(name);
  }

  /** The points of a range, oldest first; empty for a guest never seen running. */
  range(name: string, range: HistoryRange): HistoryPoint[] {
    return [...(this.guests.get(name)?.rings[range] ?? [])];
  }

  names(): string[] {
    return [...this.guests.keys()];
  }
}

/** Samples the engine every `stepS` seconds (5 by default) into a History until stopped. */
export function startSampling(read: () => Promise<GuestMetrics[]>, history: History, stepS = TIERS['5m'].step): () => void {
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      history.add(await read(), Date.now() / 1000);
    } catch {
      // a failed scrape (a guest stopping half-way) leaves a gap, which the charts show as one
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), stepS * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
