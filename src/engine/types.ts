// What the engine reports about a guest; the CLI prints it, the API serves it.
import type { Readable } from 'node:stream';
import type { CgroupEvents, CgroupLimits, CgroupUsage } from '../resources/cgroup.js';
import type { InitStyle } from '../guest/schema.js';
import type { Progress } from '../util/progress.js';

export type GuestState = 'running' | 'stopped' | 'paused' | 'created' | 'broken';

export interface GuestInfo {
  name: string;
  context: number;
  state: GuestState;
  hostname?: string;
  init?: string;
  backend?: string;
  /** Host PID of the guest's init. */
  pid?: number;
  /** Seconds since the guest's init started. */
  uptime?: number;
  processes?: number;
  /** Why the guest's config could not be read (state 'broken'). */
  error?: string;
  privileged?: boolean;
  /** Its autostart group (the config's mark). */
  mark?: string;
  /** Host ids that guest ids 0..size-1 map to (unprivileged guests). */
  idmap?: { base: number; size: number };
  /** Limits in force and what the guest used, for a running guest (status). */
  resources?: GuestResources;
  /** The shared template under an overlay guest. */
  template?: string;
  /** An overlay guest's merged tree at rootfs: false after a reboot until mount, start, exec or export mounts it. */
  mounted?: boolean;
  /** Things the user should know that did not stop the command, for example that the guest is privileged. */
  warnings?: string[];
  /** Network interfaces: as set up while running, else as configured. Empty: loopback only. */
  interfaces?: InterfaceInfo[];
}

export interface InterfaceInfo {
  /** Name inside the guest (none for modes none and host). */
  name?: string;
  mode: string;
  /** ADDRESS/PREFIX; "auto" while a stopped guest has none chosen yet. */
  addresses: string[];
  gateways?: string[];
  /** The host end of a bridge interface's veth pair. */
  hostDevice?: string;
  bridge?: string;
  /** The host NIC shared (macvlan, ipvlan) or given (phys). */
  parent?: string;
  nat?: boolean;
  /** HOST:GUEST/PROTO */
  ports?: string[];
}

export interface GuestResources {
  limits?: CgroupLimits;
  usage?: CgroupUsage;
  events?: CgroupEvents;
  /** The guest init's rlimits, by name (nofile, nproc, ...); Infinity = unlimited. */
  rlimits?: Record<string, { soft: number; hard: number }>;
  /** Whether free, uptime, top and /proc/cpuinfo inside show the guest's own figures (lxcfs), and if not, why. */
  lxcfs: { inUse: boolean; note: string };
}

/** Where a new guest's tree comes from. */
export type BuildSource =
  | { kind: 'template'; name: string }
  | { kind: 'debootstrap'; suite: string; mirror?: string; variant?: string; include?: string[] }
  | {
      kind: 'tarball';
      file: string /** The archive itself (an upload), read instead of file, which then only names it. */;
      stream?: Readable;
    }
  | { kind: 'clone'; guest: string };

export interface BuildOptions {
  /** Default: the built-in busybox template. */
  source?: BuildSource;
  /** dir (own copy) or overlay (shares a stored template); default overlay for a stored template. */
  backend?: 'dir' | 'overlay';
  /** An id range of its own even when built from a shared template (then as a dir guest). */
  isolated?: boolean;
  context?: number;
  hostname?: string;
  init?: InitStyle;
  cmd?: string[];
  /** No user namespace: guest root is host root. */
  privileged?: boolean;
  onProgress?: (p: Progress) => void;
  /** Aborting stops the build between steps and kills what runs; the half-made tree is removed. */
  signal?: AbortSignal;
}
