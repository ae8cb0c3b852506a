// The engine: every use case the CLI and the daemon call, over one set of parts.
// Each use case is imported when first called, so that a quick command loads only what it needs.
import type { GuestConfig } from '../guest/schema.js';
import type { ExecIO } from '../runtime/types.js';
import { makeDeps, type Deps, type DepsOverrides } from './deps.js';
import type { GcReport } from './gc.js';
import type { StopOptions } from './stop.js';
import type { BuildOptions, GuestInfo } from './types.js';

export type { BuildOptions, GuestInfo, InterfaceInfo } from './types.js';
export type { GcReport } from './gc.js';

export class Engine {
  readonly deps: Deps;

  constructor(root: string, overrides?: DepsOverrides) {
    this.deps = makeDeps(root, overrides);
  }

  async build(name: string, opts?: BuildOptions): Promise<GuestInfo> {
    return (await import('./build.js')).buildGuest(this.deps, name, opts);
  }

  async start(name: string): Promise<GuestInfo> {
    return (await import('./start.js')).startGuest(this.deps, name);
  }

  async stop(name: string, opts?: StopOptions): Promise<void> {
    return (await import('./stop.js')).stopGuest(this.deps, name, opts);
  }

  /** Stops the guest if it runs, then starts it, holding the guest's lock throughout. */
  async restart(name: string, opts?: StopOptions): Promise<GuestInfo> {
    return (await import('./restart.js')).restartGuest(this.deps, name, opts);
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

  async exec(name: string, argv: readonly string[], io: ExecIO): Promise<number> {
    return (await import('./exec.js')).execGuest(this.deps, name, argv, io);
  }

  async enter(name: string, io: Omit<ExecIO, 'tty'>): Promise<number> {
    return (await import('./exec.js')).enterGuest(this.deps, name, io);
  }

  async delete(name: string, opts?: { force?: boolean }): Promise<void> {
    return (await import('./delete.js')).deleteGuest(this.deps, name, opts);
  }

  async config(name: string): Promise<GuestConfig> {
    return (await import('./config.js')).showConfig(this.deps, name);
  }

  /** Cleans up after guests that died without a stop; reports what went. */
  async gc(): Promise<GcReport[]> {
    return (await import('./gc.js')).gc(this.deps);
  }

  /** Sets one key (dotted for tables); undefined removes it. Takes effect at the next start. */
  async setConfig(name: string, key: string, value: unknown): Promise<GuestConfig> {
    return (await import('./config.js')).setConfig(this.deps, name, key, value);
  }
}
