// What the engine asks of an OCI runtime; runc and crun implement it through one driver.
import type { OciResources, OciRlimit } from '../oci/types.js';

export type RuntimeStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface RuntimeState {
  id: string;
  pid: number;
  status: RuntimeStatus;
  bundle?: string;
  created: string;
  annotations?: Record<string, string>;
}

/** Where a process's standard streams go: an open fd, 'inherit' (ours) or 'ignore'. */
export type StdioTarget = number | 'inherit' | 'ignore';

export interface ExecIO {
  stdin: StdioTarget;
  stdout: StdioTarget;
  stderr: StdioTarget;
  /** Allocate a pseudo-terminal (the runtime copies between it and our stdio). */
  tty?: boolean;
  env?: string[];
  cwd?: string;
  /** uid[:gid] inside the guest. */
  user?: string;
  /** The guest's limits, which an exec'd process gets whatever limits its caller had. */
  rlimits?: readonly OciRlimit[];
  /** The guest has /bin/sh (used to put back a soft limit that the runtime raised). */
  guestShell?: boolean;
}

export interface Runtime {
  readonly name: 'runc' | 'crun';
  readonly path: string;
  /** Creates and starts the container's init, detached; returns once init runs. */
  run(id: string, bundleDir: string, io: ExecIO): Promise<void>;
  /** Creates the container (namespaces, cgroups, init waiting); `start` then lets init run. */
  create(id: string, bundleDir: string, io: ExecIO): Promise<void>;
  start(id: string): Promise<void>;
  state(id: string): Promise<RuntimeState | undefined>;
  list(): Promise<RuntimeState[]>;
  kill(id: string, signal: number, opts?: { all?: boolean }): Promise<void>;
  delete(id: string, opts?: { force?: boolean }): Promise<void>;
  exec(id: string, argv: readonly string[], io: ExecIO): Promise<number>;
  update(id: string, resources: OciResources): Promise<void>;
  /** Freezes every process of the container (cgroup freezer), so that its files hold still. */
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
}
