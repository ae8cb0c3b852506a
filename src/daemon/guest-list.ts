// GET /1.0/guests for a long-running daemon: the engine's list is computed once per change, not per
// request. A change is seen from the daemon's events and, at once and also for other processes, from
// the locks directory, where every change makes and removes the guest's lock; concurrent requests
// share one computation; the JSON is made once.
import { statSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import type { Engine, GuestInfo, GuestMetrics } from '../engine/index.js';
import { processUptime } from '../util/procfs.js';
import { wireJson } from '../wire/json.js';
import { withFigures } from './figures.js';

/** How long the cgroup figures of ?figures=1 are reused. */
const FIGURES_MS = 1000;
/** A directory changed this close to a computation may change again within the same timestamp tick. */
const TICK_MS = 20;
/** Bodies kept per list version (one per filter asked for). */
const MAX_BODIES = 32;

interface Stamp {
  key: string;
  /** Newest modification time among the directories, in ms. */
  newest: number;
}

interface Snapshot {
  gen: number;
  stamp: Stamp;
  list: GuestInfo[];
  /** Unix second the uptimes were last brought up to. */
  second: number;
  bodies: Map<string, Buffer>;
}

interface Figures {
  at: number;
  metrics: Promise<GuestMetrics[]>;
}

export interface ListQuery {
  state?: string;
  mark?: string;
  figures?: boolean;
}

export class GuestList {
  /** Bumped by every event that may change the list; a snapshot of an older one is not served. */
  private gen = 0;
  private current?: Snapshot;
  private flight?: { gen: number; key: string; settled: boolean; promise: Promise<Snapshot> };
  private figures?: Figures;
  private readonly onEvent = () => this.invalidate();
  private readonly locks: string;

  constructor(
    private readonly engine: Engine,
    private readonly events: EventEmitter,
  ) {
    events.on('event', this.onEvent);
    this.locks = engine.deps.paths.locks;
  }

  close(): void {
    this.events.off('event', this.onEvent);
  }

  invalidate(): void {
    this.gen++;
    this.current = undefined;
    this.figures = undefined;
  }

  /** The list as the files and the runtime have it now. */
  async list(): Promise<GuestInfo[]> {
    return (await this.snapshot()).list;
  }

  /** The JSON answer of GET /1.0/guests, made once per list version, uptime second, filter and figures reading. */
  async body(q: ListQuery): Promise<Buffer> {
    let snap = await this.snapshot();
    if (!this.freshUptimes(snap)) snap = await this.snapshot();
    const figures = q.figures && snap.list.some((g) => g.pid !== undefined) ? this.readFigures(snap.gen) : undefined;
    const key = `${q.state ?? ''}\0${q.mark ?? ''}\0${figures?.at ?? ''}`;
    const kept = snap.bodies.get(key);
    if (kept) return kept;
    const list = snap.list.filter((g) => (q.state === undefined || g.state === q.state) && (q.mark === undefined || g.mark === q.mark));
    const body = Buffer.from(wireJson(figures ? await withFigures(list, () => figures.metrics) : list));
    if (snap.bodies.size >= MAX_BODIES) snap.bodies.clear();
    snap.bodies.set(key, body);
    return body;
  }

  private async snapshot(): Promise<Snapshot> {
    const stamp = this.stamp();
    const c = this.current;
    if (c && c.gen === this.gen && c.stamp.key === stamp.key) return c;
    const f = this.flight;
    if (f && f.gen === this.gen && f.key === stamp.key && f.settled) return f.promise;
    const gen = this.gen;
    // a later change can hide in the same timestamp as one this close before: then nobody shares it
    const settled = stamp.newest < Date.now() - TICK_MS;
    const promise = this.engine.list().then((list) => {
      const snap: Snapshot = { gen, stamp, list, second: Math.floor(Date.now() / 1000), bodies: new Map() };
      // kept only when nothing changed meanwhile
      if (settled && gen === this.gen && this.stamp().key === stamp.key) this.current = snap;
      return snap;
    });
    const flight = { gen, key: stamp.key, settled, promise };
    this.flight = flight;
    const clear = () => {
      if (this.flight === flight) this.flight = undefined;
    };
    promise.then(clear, clear);
    return promise;
  }

  /** Brings uptimes to this second; false if an init is gone (the guest died), which ends the snapshot. */
  private freshUptimes(snap: Snapshot): boolean {
    const second = Math.floor(Date.now() / 1000);
    if (snap.second === second) return true;
    for (const g of snap.list) {
      if (g.pid === undefined || g.uptime === undefined) continue;
      const up = processUptime(g.pid);
      if (up === undefined) {
        if (this.current === snap) this.invalidate();
        return false;
      }
      g.uptime = up;
    }
    snap.second = second;
    snap.bodies.clear();
    return true;
  }

  private readFigures(gen: number): Figures {
    const f = this.figures;
    if (f && Date.now() - f.at < FIGURES_MS && gen === this.gen) return f;
    const fresh = { at: Date.now(), metrics: this.engine.metrics() };
    // a failed reading is not kept
    fresh.metrics.catch(() => {
      if (this.figures === fresh) this.figures = undefined;
    });
    this.figures = fresh;
    return fresh;
  }

  /**
   * The times of the locks directory, where every change of a guest by any process (the CLI, this
   * daemon) makes and removes the guest's lock; a config edited by hand is reported by the tracker.
   */
  private stamp(): Stamp {
    const st = statSync(this.locks, { throwIfNoEntry: false });
    return st === undefined
      ? { key: '-', newest: 0 }
      : { key: `${st.ino}:${st.mtimeMs}:${st.ctimeMs}`, newest: Math.max(st.mtimeMs, st.ctimeMs) };
  }
}
