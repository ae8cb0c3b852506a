// A guest's limits, usage and events as the cgroup readers give them and the API serves them (Infinity: no limit).

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

export interface GuestResources {
  limits?: CgroupLimits;
  usage?: CgroupUsage;
  events?: CgroupEvents;
  /** The guest init's rlimits, by name (nofile, nproc, ...); Infinity = unlimited. */
  rlimits?: Record<string, { soft: number; hard: number }>;
  /** Whether free, uptime, top and /proc/cpuinfo inside show the guest's own figures (lxcfs), and if not, why. */
  lxcfs: { inUse: boolean; note: string };
}
