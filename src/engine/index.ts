// The engine: every use case the CLI and the daemon call, over one set of parts.
// Each use case is imported when first called, so that a quick command loads only what it needs.
import type { LimitsInput } from '../guest/limits-schema.js';
import type { ShownConfig } from '../guest/schema.js';
import type { PsTable } from '../resources/ps.js';
import type { StatRow } from '../resources/stat.js';
import type { ExecIO } from '../runtime/types.js';
import { EventEmitter } from 'node:events';
import { emitEvent, lifecycleEvent, type LifecycleEventType } from './events.js';
import { makeDeps, type Deps, type DepsOverrides } from './deps.js';
import { upgradeLayout } from './tree-access.js';
import type { LimitResult, LimitsResult } from './limit.js';
import type { ConfigView } from './config.js';
import type { ConfigEdit, EditOptions } from '../guest/store.js';
import type { GcReport } from './gc.js';
import type { CheckItem } from './check.js';
import type { EscapeOptions, EscapeRun } from './escape-check.js';
import type { StopOptions } from './stop.js';
import type { ExecOptions } from './exec.js';
import type { TopSampler } from './top.js';
import type { BuildOptions, GuestInfo } from './types.js';
import type { TemplateInfo, TemplateSource } from './template.js';
import type { MountReport } from './mount.js';
import type { ExportResult, ImportOptions, ImportResult } from './export.js';
import type { GuestMetrics } from './metrics.js';
import type { BulkAction, BulkOptions, BulkResult, Selection } from './bulk.js';
import type { DiskUsage, UnifyResult } from './disk.js';
import type { InitStyle } from '../guest/schema.js';
import type { Progress } from '../util/progress.js';
import type { RestoreResult, SnapshotInfo } from './snapshot.js';
import type { LegacyImportOptions, LegacyImportResult } from './import-legacy.js';
import type { MigrateOptions, MigrateResult } from './migrate.js';
import type { ReceiveResult } from './migrate-receive.js';
import type { Readable } from 'node:stream';

export type { BuildOptions, BuildSource, GuestInfo, GuestResources } from './types.js';
export type { LimitResult, LimitsResult } from './limit.js';
export type { ConfigView } from './config.js';
export type { ConfigEdit, EditOptions } from '../guest/store.js';
export type { GuestMetrics } from './metrics.js';
export type { BulkAction, BulkOptions, BulkResult, Selection } from './bulk.js';
export type { TemplateInfo, TemplateSource } from './template.js';
export type { MountReport } from './mount.js';
export type { ExportResult, ImportOptions, ImportResult } from './export.js';
export type { DiskUsage, UnifyResult } from './disk.js';
export type { GcReport } from './gc.js';
export type { CheckItem } from './check.js';
export type { EscapeOptions, EscapeRun } from './escape-check.js';
export type { RestoreResult, SnapshotInfo } from './snapshot.js';
export type { LegacyImportOptions, LegacyImportResult } from './import-legacy.js';
export type { LifecycleEventType } from './events.js';
export type { MigrateOptions, MigrateResult } from './migrate.js';
export type { ReceiveResult } from './migrate-receive.js';

export class Engine {
  readonly deps: Deps;
  /** 'event' with a LifecycleEvent after each change made through this engine. */
  readonly events = new EventEmitter();
  /** Guests this engine is changing now: a watcher leaves them to the event that follows. */
  readonly busy = new Map<string, number>();

  constructor(root: string, overrides?: DepsOverrides) {
    // files the engine makes (guest trees, the /etc files it provides, state) get the modes it asks
    // for, whatever umask the caller has; the guests it starts inherit 022 too
    process.umask(0o022);
    this.deps = makeDeps(root, overrides);
    upgradeLayout(this.deps);
  }

  /** Runs a change of one guest, marked busy meanwhile, and emits its events once it succeeded. */
  private async changing<T>(
    name: string,
    work: () => Promise<T>,
    events: (r: T) => [LifecycleEventType, Record<string, unknown>?][],
  ): Promise<T> {
    this.busy.set(name, (this.busy.get(name) ?? 0) + 1);
    let result: T;
    try {
      result = await work();
    } finally {
      const n = (this.busy.get(name) ?? 1) - 1;
      if (n > 0) this.busy.set(name, n);
      else this.busy.delete(name);
    }
    for (const [type, detail] of events(result)) emitEvent(this.events, lifecycleEvent(type, name, detail));
    return result;
  }

  async build(name: string, opts?: BuildOptions): Promise<GuestInfo> {
    return this.changing(
      name,
      async () => (await import('./build.js')).buildGuest(this.deps, name, opts),
      (g) => [['built', { context: g.context }]],
    );
  }

  async start(name: string): Promise<GuestInfo> {
    return this.changing(
      name,
      async () => (await import('./start.js')).startGuest(this.deps, name),
      (g) => [['started', { context: g.context, ...(g.pid === undefined ? {} : { pid: g.pid }) }]],
    );
  }

  async stop(name: string, opts?: StopOptions): Promise<void> {
    return this.changing(
      name,
      async () => (await import('./stop.js')).stopGuest(this.deps, name, opts),
      () => [['stopped']],
    );
  }

  /** Stops the guest if it runs, then starts it, holding the guest's lock throughout. */
  async restart(name: string, opts?: StopOptions): Promise<GuestInfo> {
    return this.changing(
      name,
      async () => (await import('./restart.js')).restartGuest(this.deps, name, opts),
      (g) => [
        ['stopped', { restart: true }],
        ['started', { context: g.context, restart: true, ...(g.pid === undefined ? {} : { pid: g.pid }) }],
      ],
    );
  }

  /** start, stop or restart many guests, in parallel up to opts.jobs; one result per guest. */
  async bulk(action: BulkAction, sel: Selection, opts?: BulkOptions): Promise<BulkResult[]> {
    const { bulk, selectGuests } = await import('./bulk.js');
    return bulk(this, action, selectGuests(this.deps, sel), opts);
  }

  /** autostart / autostop: the guests of a mark in start_order groups. */
  async autoRun(direction: 'start' | 'stop', mark: string, opts?: BulkOptions): Promise<BulkResult[]> {
    return (await import('./bulk.js')).autoRun(this, this.deps, direction, mark, opts);
  }

  /** Per running guest, the figures a metrics scrape reports. */
  async metrics(): Promise<GuestMetrics[]> {
    return (await import('./metrics.js')).guestMetrics(this.deps);
  }

  async status(name: string): Promise<GuestInfo> {
    return (await import('./status.js')).statusGuest(this.deps, name);
  }

  async running(name: string): Promise<boolean> {
    return (await import('./status.js')).isRunning(this.deps, name);
  }

  async list(): Promise<GuestInfo[]> {
    return (await import('./status.js')).listGuests(this.deps);
  }

  async exec(name: string, argv: readonly string[], io: ExecIO, opts?: ExecOptions): Promise<number> {
    return (await import('./exec.js')).execGuest(this.deps, name, argv, io, opts);
  }

  async enter(name: string, io: Omit<ExecIO, 'tty'>): Promise<number> {
    return (await import('./exec.js')).enterGuest(this.deps, name, io);
  }

  async delete(name: string, opts?: { force?: boolean }): Promise<void> {
    return this.changing(
      name,
      async () => (await import('./delete.js')).deleteGuest(this.deps, name, opts),
      () => [['deleted']],
    );
  }

  async config(name: string): Promise<ShownConfig> {
    return (await import('./config.js')).showConfig(this.deps, name);
  }

  /** The config file's text, its version (for ETag / If-Match) and what it says. */
  async configDocument(name: string): Promise<ConfigView> {
    return (await import('./config.js')).configDocument(this.deps, name);
  }

  /** One key of the config (dotted for tables); NOT_FOUND when it is not set. */
  async configKey(name: string, key: string): Promise<unknown> {
    return (await import('./config.js')).configKey(this.deps, name, key);
  }

  /** Changes keys ({set}, null removes) or the whole text ({text}); a stale opts.ifVersion is a CONFLICT. */
  async editConfig(name: string, edit: ConfigEdit, opts?: EditOptions): Promise<{ version: string }> {
    const { version } = await this.changing(
      name,
      async () => (await import('./config.js')).editConfig(this.deps, name, edit, { ifVersion: opts?.ifVersion }),
      () => [['config-changed', 'set' in edit ? { keys: Object.keys(edit.set) } : {}]],
    );
    return { version };
  }

  /** vserver check: one item per thing the host must offer for guests. */
  async check(): Promise<CheckItem[]> {
    const [{ evaluate }, { probeHost }] = await Promise.all([import('./check.js'), import('./check-probe.js')]);
    return evaluate(await probeHost(this.deps));
  }

  /** vserver check --escape: the escape suite's attempts in throw-away guests, which are removed. */
  async escapeCheck(opts?: EscapeOptions): Promise<EscapeRun[]> {
    return (await import('./escape-check.js')).escapeCheck(this.deps, opts);
  }

  async gc(): Promise<GcReport[]> {
    return (await import('./gc.js')).gc(this.deps);
  }

  /** Sets one key (dotted for tables); undefined removes it. Takes effect at the next start. */
  async setConfig(name: string, key: string, value: unknown): Promise<ShownConfig> {
    return this.changing(
      name,
      async () => (await import('./config.js')).setConfig(this.deps, name, key, value),
      () => [['config-changed', { key }]],
    );
  }

  async limits(name: string): Promise<LimitsInput> {
    return (await import('./limit.js')).showLimits(this.deps, name);
  }

  /** Changes one limit: a running guest gets it at once (else at its next start), then it is saved. */
  async setLimit(name: string, key: string, value: string): Promise<LimitResult> {
    return this.changing(
      name,
      async () => (await import('./limit.js')).setLimit(this.deps, name, key, value),
      (r) => [['limit-changed', { key, value, live: r.live }]],
    );
  }

  /** Changes several limits together (all or none), as setLimit does one; a stale opts.ifVersion is a CONFLICT. */
  async setLimits(name: string, changes: readonly (readonly [string, string])[], opts?: { ifVersion?: string }): Promise<LimitsResult> {
    return this.changing(
      name,
      async () => (await import('./limit.js')).setLimits(this.deps, name, changes, opts),
      (r) => [
        [
          'limit-changed',
          changes.length === 1 ? { key: changes[0]![0], value: changes[0]![1], live: r.live } : { changes: r.changes, live: r.live },
        ],
      ],
    );
  }

  /** vserver-stat's figures: the host (context 0) and each running guest. */
  async stat(): Promise<StatRow[]> {
    return (await import('./stat.js')).statGuests(this.deps);
  }

  /** ps with the given options, each process marked with its context; `first` may name a guest (see psGuests). */
  async ps(psOptions: readonly string[], first?: string): Promise<PsTable> {
    return (await import('./ps.js')).psGuests(this.deps, psOptions, first);
  }

  async topSampler(): Promise<TopSampler> {
    return new (await import('./top.js')).TopSampler(this.deps);
  }

  async templateCreate(
    name: string,
    source: TemplateSource,
    opts?: { init?: InitStyle; onProgress?: (p: Progress) => void },
  ): Promise<TemplateInfo> {
    return (await import('./template.js')).createTemplate(this.deps, name, source, opts);
  }

  async templateList(): Promise<TemplateInfo[]> {
    return (await import('./template.js')).listTemplates(this.deps);
  }

  async templateDelete(name: string): Promise<void> {
    return (await import('./template.js')).deleteTemplate(this.deps, name);
  }

  /** Mounts overlay guests' merged trees (all of them when names is empty), as at boot. */
  async mount(names: string[]): Promise<MountReport[]> {
    return (await import('./mount.js')).mountGuests(this.deps, names);
  }

  /** Streams a stopped guest to FILE ('-': standard output). */
  async export(name: string, file: string, opts?: { sign?: string }): Promise<ExportResult> {
    return (await import('./export.js')).exportGuest(this.deps, name, file, opts);
  }

  async import(file: string, opts?: ImportOptions): Promise<ImportResult> {
    const r = await (await import('./export.js')).importGuest(this.deps, file, opts);
    emitEvent(this.events, lifecycleEvent('built', r.name, { context: r.context, imported: true }));
    return r;
  }

  async du(names: string[]): Promise<DiskUsage[]> {
    return (await import('./disk.js')).diskUsage(this.deps, names);
  }

  async unify(names: string[], opts?: { minSize?: number }): Promise<UnifyResult> {
    return (await import('./disk.js')).unify(this.deps, names, opts);
  }

  /** A snapshot of the guest's own tree; a running guest is frozen while it is copied. */
  async snapshotCreate(name: string, snap?: string): Promise<SnapshotInfo> {
    return (await import('./snapshot.js')).createSnapshot(this.deps, name, snap);
  }

  async snapshotList(name: string): Promise<SnapshotInfo[]> {
    return (await import('./snapshot.js')).snapshotList(this.deps, name);
  }

  /** Puts a stopped guest's tree back as it was; the current one is kept as a snapshot unless discard. */
  async snapshotRestore(name: string, snap: string, opts?: { discard?: boolean }): Promise<RestoreResult> {
    return (await import('./snapshot.js')).restoreSnapshot(this.deps, name, snap, opts);
  }

  async snapshotDelete(name: string, snap: string): Promise<void> {
    return (await import('./snapshot.js')).deleteSnapshot(this.deps, name, snap);
  }

  /** A util-vserver guest (its /etc/vservers/NAME directory) becomes a guest; the report lists every file. */
  async importLegacy(dir: string, opts?: LegacyImportOptions): Promise<LegacyImportResult> {
    const r = await (await import('./import-legacy.js')).importLegacy(this.deps, dir, opts);
    emitEvent(this.events, lifecycleEvent('built', r.name, { legacy: dir }));
    return r;
  }

  /** Moves a guest to another host over ssh (pre-copy while it runs, then freeze, final copy, start there). */
  async migrate(name: string, dest: string, opts?: MigrateOptions): Promise<MigrateResult> {
    return this.changing(
      name,
      async () => (await import('./migrate.js')).migrateGuest(this.deps, name, dest, opts),
      (r) => {
        const out: [LifecycleEventType, Record<string, unknown>?][] = r.wasRunning ? [['stopped', { migrated: dest }]] : [];
        if (!opts?.keep) out.push(['deleted', { migrated: dest }]);
        return out;
      },
    );
  }

  /** The target's side of migrate: JSON lines in from the source, replies out through send. */
  async receive(name: string, input: Readable, send: (msg: Record<string, unknown>) => void): Promise<ReceiveResult> {
    return this.changing(
      name,
      async () => (await import('./migrate-receive.js')).receiveGuest(this.deps, name, input, send),
      (r) => (r.info.state === 'running' ? [['built', { migrated: true }], ['started']] : [['built', { migrated: true }]]),
    );
  }
}
