// What the daemon tells listeners: the events of its own engine, and what it learns without
// polling from the files (inotify on the configs and the locks, for the CLI in other processes)
// and from the kernel (guest-watch: init exits, OOM kills).
import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import type { Engine } from '../engine/index.js';
import { emitEvent, lifecycleEvent, type LifecycleEvent, type LifecycleEventType } from '../engine/events.js';
import { NAME_PATTERN } from '../guest/name.js';
import { lockHeld } from '../util/lock.js';
import { oomWatchPath, type WatchReport } from './guest-watch.js';

/** What the tracker needs of the guest-watch helper. */
export interface Watcher {
  on(event: 'report', fn: (r: WatchReport) => void): unknown;
  watchPid(name: string, pid: number): void;
  watchOom(name: string, path: string): void;
  forget(name: string): void;
  close(): void;
}

interface Seen {
  /** The config file's text; undefined: no such guest. */
  text?: string;
  /** Its limits table and the rest, to tell a limit change from another edit. */
  limits?: string;
  rest?: string;
  /** Init's pid while running. */
  pid?: number;
}

/** The engine's events that come with a config it wrote (or removed). */
const CONFIG_EVENTS: ReadonlySet<LifecycleEventType> = new Set(['built', 'config-changed', 'limit-changed', 'deleted']);

/** Lets a burst of file events settle into one look at the guest. */
const SETTLE_MS = 20;

export class Tracker {
  /** 'event' with a LifecycleEvent. */
  readonly events = new EventEmitter();
  private readonly seen = new Map<string, Seen>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly watchers: FSWatcher[] = [];
  private readonly onEngine = (ev: LifecycleEvent) => this.fromEngine(ev);
  private closed = false;

  constructor(
    private readonly engine: Engine,
    private readonly watcher?: Watcher,
  ) {
    this.events.setMaxListeners(0);
  }

  async start(): Promise<void> {
    const { paths, store } = this.engine.deps;
    for (const d of [paths.guestConfigDir, paths.locks]) mkdirSync(d, { recursive: true });
    this.engine.events.on('event', this.onEngine);
    this.watcher?.on('report', (r: WatchReport) => this.fromKernel(r));
    const names = new Set([...store.names(), ...(await (await this.engine.deps.runtime()).list()).map((s) => s.id)]);
    for (const name of names) this.arrange(name, await this.look(name));
    const on = (suffix: string) => (_ev: string, file: string | Buffer | null) => {
      const f = String(file ?? '');
      if (f.endsWith(suffix)) this.schedule(f.slice(0, -suffix.length));
    };
    this.watchers.push(watch(paths.guestConfigDir, on('.toml')), watch(paths.locks, on('.lock')));
  }

  close(): void {
    this.closed = true;
    this.engine.events.off('event', this.onEngine);
    for (const w of this.watchers) w.close();
    for (const t of this.timers.values()) clearTimeout(t);
    this.watcher?.close();
  }

  private emit(type: LifecycleEventType, name: string, detail?: Record<string, unknown>): void {
    emitEvent(this.events, lifecycleEvent(type, name, detail));
  }

  /** The engine's own change: passed on, and what is remembered catches up (so that it is not reported twice). */
  private fromEngine(ev: LifecycleEvent): void {
    const s = this.seen.get(ev.guest) ?? {};
    const config = this.lookConfig(ev.guest);
    if (!CONFIG_EVENTS.has(ev.type)) {
      // a change another process made to the config before this step (its rescan put off while the
      // engine worked) is told first, in the order they happened
      this.reportConfig(ev.guest, s, config);
      if (s.text !== undefined && config.text !== undefined) Object.assign(s, config);
    }
    if (ev.type === 'stopped' || ev.type === 'deleted') s.pid = undefined;
    if (ev.type === 'started' && typeof ev.detail?.pid === 'number') s.pid = ev.detail.pid;
    this.seen.set(ev.guest, s);
    emitEvent(this.events, ev);
    void this.look(ev.guest, config).then(
      (now) => {
        // the engine wrote the config only for these: any other change found in it now was made by
        // another process meanwhile, and is left for the rescan to report
        if (CONFIG_EVENTS.has(ev.type)) return this.arrange(ev.guest, now);
        const { text, limits, rest } = this.seen.get(ev.guest) ?? {};
        this.arrange(ev.guest, { ...now, text, limits, rest });
      },
      () => undefined,
    );
  }

  private fromKernel(r: WatchReport): void {
    if (r.kind === 'exit') this.schedule(r.name, 0);
    else if (r.kind === 'oom') this.emit('oom', r.name, { oomKills: r.count });
  }

  private schedule(name: string, ms = SETTLE_MS): void {
    if (this.closed || !NAME_PATTERN.test(name)) return;
    clearTimeout(this.timers.get(name));
    this.timers.set(
      name,
      setTimeout(() => {
        this.timers.delete(name);
        void this.rescan(name).catch(() => undefined);
      }, ms),
    );
  }

  /** The guest's config as the file has it now. */
  private lookConfig(name: string): Seen {
    const { paths, store } = this.engine.deps;
    const now: Seen = {};
    try {
      now.text = readFileSync(paths.guestConfig(name), 'utf8');
      const { limits, ...rest } = store.read(name);
      now.limits = JSON.stringify(limits ?? {});
      now.rest = JSON.stringify(rest);
    } catch {
      /* no guest, or a config that does not parse: its text still tells a change */
    }
    return now;
  }

  /** An edit of a config seen before: limit-changed when only its limits differ, else config-changed. */
  private reportConfig(name: string, was: Seen, now: Seen): void {
    if (was.text === undefined || now.text === undefined || was.text === now.text) return;
    const onlyLimits = was.rest !== undefined && was.rest === now.rest && was.limits !== now.limits;
    this.emit(onlyLimits ? 'limit-changed' : 'config-changed', name);
  }

  /** The guest as the files and the runtime have it now (its config as just read, if it was). */
  private async look(name: string, config = this.lookConfig(name)): Promise<Seen & { exited?: boolean }> {
    const now: Seen & { exited?: boolean } = { ...config };
    const st = await (await this.engine.deps.runtime()).state(name);
    if (st && (st.status === 'running' || st.status === 'paused')) now.pid = st.pid;
    // init gone but the runtime's state still there: nobody stopped it (a stop removes the state)
    else if (st) now.exited = true;
    return now;
  }

  /** Reports what changed since last seen; a guest being changed is looked at once its lock goes. */
  private async rescan(name: string): Promise<void> {
    if (this.engine.busy.has(name) || lockHeld(this.engine.deps.paths.lock(name))) return;
    const was = this.seen.get(name) ?? {};
    const now = await this.look(name);
    if (this.closed || this.engine.busy.has(name)) return;
    if (was.text === undefined && now.text !== undefined) this.emit('built', name);
    if (was.pid !== undefined && was.pid !== now.pid) {
      this.emit(now.exited ? 'died' : 'stopped', name, { pid: was.pid });
    }
    if (now.pid !== undefined && now.pid !== was.pid) this.emit('started', name, { pid: now.pid });
    this.reportConfig(name, was, now);
    if (was.text !== undefined && now.text === undefined) this.emit('deleted', name);
    this.arrange(name, now);
  }

  /** Remembers the guest, and has its init and memory cgroup watched while it runs. */
  private arrange(name: string, now: Seen): void {
    if (now.text === undefined && now.pid === undefined) this.seen.delete(name);
    else this.seen.set(name, now);
    if (!this.watcher || this.watched.get(name) === now.pid) return;
    if (now.pid === undefined) {
      this.watched.delete(name);
      this.watcher.forget(name);
      return;
    }
    this.watched.set(name, now.pid);
    this.watcher.watchPid(name, now.pid);
    const oom = oomWatchPath(this.engine.deps.cgroups(), this.engine.deps.paths.cgroupName(name));
    if (oom !== undefined) this.watcher.watchOom(name, oom);
  }

  /** Init pid each running guest is watched by. */
  private readonly watched = new Map<string, number>();
}
