// What the cgroup readers of both layouts give: kept apart so that the readers and their chooser import it without a cycle.

export type CgroupLayout = 'v1' | 'hybrid' | 'v2';

/** What a guest has used so far: counters only, cheap enough to read every second for every guest. */
export interface CgroupUsage {
  /** CPU time in microseconds: in all, in user mode, in the kernel. */
  cpuUsec: number;
  userUsec: number;
  systemUsec: number;
  /** Memory charged to the guest now, in bytes (page cache included), and its hard limit (Infinity: none). */
  memoryBytes: number;
  memoryMax: number;
  /** Swap the guest uses now, in bytes; undefined where swap is not accounted. */
  swapBytes?: number;
  /** Tasks: processes and their threads. */
  tasks: number;
  ioReadBytes: number;
  ioWriteBytes: number;
}

/** Per-device block I/O throttles; a missing or Infinity rate means no limit. */
export interface IoDeviceLimit {
  /** MAJOR:MINOR */
  device: string;
  readBps?: number;
  writeBps?: number;
  readIops?: number;
  writeIops?: number;
}

/** The limits the kernel enforces now; Infinity = no limit. */
export interface CgroupLimits {
  memoryMax: number;
  /** cgroup v2 memory.high; on v1 the soft limit. */
  memoryHigh: number;
  /** Swap on top of memoryMax; undefined where swap is not accounted. */
  swapMax?: number;
  /** CPU time per second of wall time, in cores (cpu.max quota / period). */
  cpuMaxCores: number;
  /** v2 cpu.weight (1-10000, default 100). */
  cpuWeight?: number;
  /** v1 cpu.shares (2-262144, default 1024). */
  cpuShares?: number;
  /** The CPUs the guest may run on, as a list ("0-1"). */
  cpuset?: string;
  pidsMax: number;
  ioWeight?: number;
  io: IoDeviceLimit[];
}

/** What happened at the limits since the guest started. */
export interface CgroupEvents {
  /** Memory high-water mark in bytes, where the kernel keeps one. */
  memoryPeak?: number;
  oomKills: number;
  /** Time the guest was held back by its CPU max, in microseconds, and in how many periods. */
  throttledUsec: number;
  throttledPeriods: number;
  /** Forks refused by the pids limit. */
  pidsRefused: number;
}

/** The two counters that tell a command refused at a limit: forks refused at pids.max, and OOM kills. */
export interface LimitCounters {
  oomKills: number;
  pidsRefused: number;
}

export interface CgroupReader {
  readonly layout: CgroupLayout;
  /** Directories that hold the cgroup of this name, one per hierarchy. */
  dirs(name: string): string[];
  /** PIDs of every process in the cgroup and its children. */
  pids(name: string): number[];
  /** Names of the cgroups at the top of the tree that start with prefix. */
  list(prefix: string): string[];
  /** Removes the cgroup (all hierarchies, children first); returns the directories that could not go. */
  remove(name: string): string[];
  /** Counters; undefined when the cgroup does not exist. */
  usage(name: string): CgroupUsage | undefined;
  limits(name: string): CgroupLimits | undefined;
  events(name: string): CgroupEvents | undefined;
  /** Only the two files exec compares before and after a command; undefined when the cgroup does not exist. */
  limitCounters(name: string): LimitCounters | undefined;
  /** Sets per-device I/O throttles directly: OCI runtimes cannot update these on a running container. */
  writeIoLimits(name: string, limits: readonly IoDeviceLimit[]): void;
  /**
   * Hands the cgroup to the guest's root (uid/gid on the host), as systemd inside needs: on v2 the
   * directory and its delegation files, on v1 the named systemd hierarchy (the controllers stay
   * the host's). Returns what it changed.
   */
  delegate(name: string, uid: number, gid: number): string[];
}
