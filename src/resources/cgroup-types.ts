// What the cgroup readers of both layouts give: kept apart so that the readers and their chooser import it without a cycle.
// The figures themselves are wire types: the API serves them as they are.
import type { CgroupEvents, CgroupLimits, CgroupUsage, IoDeviceLimit } from '../wire/resources.js';

export type { CgroupEvents, CgroupLimits, CgroupUsage, IoDeviceLimit };

export type CgroupLayout = 'v1' | 'hybrid' | 'v2';

/** CPU time in microseconds, in user mode and in the kernel. */
export type CpuTimes = Pick<CgroupUsage, 'userUsec' | 'systemUsec'>;

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
  /** The first of pids(), reading no more of the tree than it takes to find it. */
  firstPid(name: string): number | undefined;
  /** Names of the cgroups at the top of the tree that start with prefix. */
  list(prefix: string): string[];
  /** Removes the cgroup (all hierarchies, children first); returns the directories that could not go. */
  remove(name: string): string[];
  /** Counters; undefined when the cgroup does not exist. swap: false leaves out swapBytes, and its file. */
  usage(name: string, opts?: { swap?: boolean }): CgroupUsage | undefined;
  /** Only the CPU times of usage(), which vserver stat shows (two files of the dozen usage reads). */
  cpuTimes(name: string): CpuTimes | undefined;
  limits(name: string): CgroupLimits | undefined;
  events(name: string): CgroupEvents | undefined;
  /** Only the two files exec compares before and after a command; undefined when the cgroup does not exist. */
  limitCounters(name: string): LimitCounters | undefined;
  /** Lifts the pids limit and the CPU quota directly, for a runtime that cannot write "no limit" (crun 1.8 on v1). */
  writeUnlimited(name: string, what: { pids?: boolean; cpuQuota?: boolean }): void;
  /** Sets per-device I/O throttles directly: OCI runtimes cannot update these on a running container. */
  writeIoLimits(name: string, limits: readonly IoDeviceLimit[]): void;
  /**
   * Hands the cgroup to the guest's root (uid/gid on the host), as systemd inside needs: on v2 the
   * directory and its delegation files, on v1 the named systemd hierarchy (the controllers stay
   * the host's). Returns what it changed.
   */
  delegate(name: string, uid: number, gid: number): string[];
}
