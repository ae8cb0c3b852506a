import type { ChildProcess } from 'node:child_process';
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
  /** init's start in clock ticks since boot, when read from the runtime's files and found to match init's own. */
  start?: number;
}

/** Where a process's standard streams go: an open fd, 'inherit' (ours), 'ignore', or a pipe to the caller (onSpawn). */
export type StdioTarget = number | 'inherit' | 'ignore' | 'pipe';

/** An exec's terminal handed to a relay program through the runtime's console socket (see pty-relay.c). */
export interface ConsoleRelay {
  /** The relay program: SOCKET PIDFILE -- RUNTIME ARGS; terminal on its stdin/stdout, control lines on fd 3. */
  relay: string;
  socket: string;
  pidFile: string;
}

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
  /**
   * The guest's ids include the host's root (a privileged guest), whose root could write to a host
   * file run in it, as to runc's own binary once (CVE-2019-5736): no host program is run in it then.
   */
  hostRootMapped?: boolean;
  /** With tty: the terminal goes to this relay instead of the runtime's own copying. */
  console?: ConsoleRelay;
  /** Given the runtime's process once spawned (its pipes, and fd 3 of a console relay); the caller then handles signals. */
  onSpawn?: (child: ChildProcess) => void;
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
  /**
   * Removes the state of a container whose init is dead, without starting the runtime (its cgroup is
   * the caller's to remove); false when this runtime's state cannot be removed that way.
   */
  forgetStopped?(id: string): boolean;
  exec(id: string, argv: readonly string[], io: ExecIO): Promise<number>;
  update(id: string, resources: OciResources): Promise<void>;
  /** Freezes every process of the container (cgroup freezer), so that its files hold still. */
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
}
