// cgroup v1 (and hybrid): one hierarchy per controller or group of co-mounted controllers.
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CLK_TCK } from '../util/procfs.js';
import type {
  CgroupEvents,
  CgroupLayout,
  CgroupLimits,
  CgroupReader,
  CgroupUsage,
  CpuTimes,
  IoDeviceLimit,
  LimitCounters,
} from './cgroup-types.js';
import {
  chownTree,
  delegateV2,
  firstTreePid,
  listPrefixed,
  parseKeyValues,
  removeAll,
  readNumber,
  readText,
  treePids,
  writeControl,
} from './cgroup-files.js';

/** blkio "MAJ:MIN Op VALUE" lines summed per operation (Read, Write, ...). */
export function sumBlkioOps(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [dev, op, val] = line.trim().split(/\s+/);
    if (!dev || !/^\d+:\d+$/.test(dev) || !op || val === undefined) continue;
    out.set(op, (out.get(op) ?? 0) + Number(val));
  }
  return out;
}

/** blkio.throttle.*_device "MAJ:MIN VALUE" lines. */
export function parseDeviceValues(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [dev, val] = line.trim().split(/\s+/);
    if (dev && /^\d+:\d+$/.test(dev) && val !== undefined) out.set(dev, Number(val));
  }
  return out;
}

const THROTTLE_FILES = [
  ['readBps', 'blkio.throttle.read_bps_device'],
  ['writeBps', 'blkio.throttle.write_bps_device'],
  ['readIops', 'blkio.throttle.read_iops_device'],
  ['writeIops', 'blkio.throttle.write_iops_device'],
] as const;

export class CgroupV1 implements CgroupReader {
  readonly layout: CgroupLayout;
  private found?: { hierarchies: string[]; controllers: Map<string, string> };

  constructor(
    readonly root = '/sys/fs/cgroup',
    layout: CgroupLayout = 'v1',
  ) {
    this.layout = layout;
  }

  /** Hierarchy roots, one per mount (co-mounted controllers counted once). */
  get hierarchies(): string[] {
    return this.mounts().hierarchies;
  }

  /** Controller name -> the directory of the hierarchy that has it. */
  private get controllers(): Map<string, string> {
    return this.mounts().controllers;
  }

  /** The mounted hierarchies, looked up on first use: a reader made and not used costs no directory read. */
  private mounts(): { hierarchies: string[]; controllers: Map<string, string> } {
    if (this.found) return this.found;
    const seen = new Set<string>();
    const hierarchies: string[] = [];
    const controllers = new Map<string, string>();
    let entries: string[] = [];
    try {
      // real directories first, so that a co-mount is named as mounted ("cpu,cpuacct"), not by its symlinks
      const all = readdirSync(this.root, { withFileTypes: true });
      entries = [...all.filter((e) => !e.isSymbolicLink()), ...all.filter((e) => e.isSymbolicLink())].map((e) => e.name);
    } catch {
      /* no cgroup file system: nothing to read */
    }
    for (const name of entries) {
      const d = join(this.root, name);
      let real: string;
      try {
        real = realpathSync(d);
        if (!statSync(join(real, 'cgroup.procs')).isFile()) continue;
      } catch {
        continue;
      }
      for (const c of name.split(',')) if (!controllers.has(c)) controllers.set(c, d);
      if (!seen.has(real)) {
        seen.add(real);
        hierarchies.push(d);
      }
    }
    this.found = { hierarchies, controllers };
    return this.found;
  }

  /** The guest's directory in the hierarchy of a controller, or undefined if that controller is not mounted. */
  private ctl(controller: string, name: string): string | undefined {
    const h = this.controllers.get(controller);
    return h === undefined ? undefined : `${h}/${name}`;
  }

  /** Cgroup names are vserver's own (no slash, no dot): paths are put together without path.join, which stat and top call thousands of times. */
  private file(controller: string, name: string, file: string): string {
    return `${this.ctl(controller, name) ?? '/nonexistent'}/${file}`;
  }

  /** The hierarchy that counts processes: pids if mounted, else any. */
  private countingHierarchy(): string | undefined {
    for (const c of ['pids', 'memory', 'cpu', 'name=systemd', 'systemd', 'unified']) {
      const h = this.controllers.get(c);
      if (h) return h;
    }
    return this.hierarchies[0];
  }

  dirs(name: string): string[] {
    return this.hierarchies.map((h) => join(h, name)).filter((d) => existsSync(d));
  }

  pids(name: string): number[] {
    const h = this.countingHierarchy();
    return h ? treePids(`${h}/${name}`) : [];
  }

  firstPid(name: string): number | undefined {
    const h = this.countingHierarchy();
    return h ? firstTreePid(`${h}/${name}`) : undefined;
  }

  list(prefix: string): string[] {
    return listPrefixed(this.countingHierarchy(), prefix);
  }

  delegate(name: string, uid: number, gid: number): string[] {
    const out: string[] = [];
    for (const d of this.dirs(name)) {
      // the named systemd hierarchy only tracks processes; the unified tree of a hybrid host likewise
      const hierarchy = basename(dirname(d));
      if (hierarchy === 'unified') delegateV2(d, uid, gid, out);
      else if (hierarchy === 'systemd') chownTree(d, uid, gid, out);
    }
    return out;
  }

  remove(name: string): string[] {
    return removeAll(this.dirs(name));
  }

  cpuTimes(name: string): CpuTimes | undefined {
    const userNs = readNumber(this.file('cpuacct', name, 'cpuacct.usage_user'));
    const sysNs = readNumber(this.file('cpuacct', name, 'cpuacct.usage_sys'));
    if (userNs !== undefined && sysNs !== undefined) return { userUsec: userNs / 1000, systemUsec: sysNs / 1000 };
    // older kernels have only the tick counts
    const st = readText(this.file('cpuacct', name, 'cpuacct.stat'));
    if (st === undefined) return undefined;
    const kv = parseKeyValues(st);
    return { userUsec: ((kv.get('user') ?? 0) * 1e6) / CLK_TCK, systemUsec: ((kv.get('system') ?? 0) * 1e6) / CLK_TCK };
  }

  usage(name: string, { swap = true }: { swap?: boolean } = {}): CgroupUsage | undefined {
    const cpu = this.cpuTimes(name);
    if (cpu === undefined) return undefined;
    const { userUsec, systemUsec } = cpu;
    const io = sumBlkioOps(readText(this.file('blkio', name, 'blkio.throttle.io_service_bytes_recursive')));
    const memory = readNumber(this.file('memory', name, 'memory.usage_in_bytes')) ?? 0;
    // v1 counts memory and swap together in memsw
    const memsw = swap ? readNumber(this.file('memory', name, 'memory.memsw.usage_in_bytes')) : undefined;
    return {
      ...(memsw === undefined ? {} : { swapBytes: Math.max(0, memsw - memory) }),
      cpuUsec: userUsec + systemUsec,
      userUsec,
      systemUsec,
      memoryBytes: memory,
      memoryMax: readNumber(this.file('memory', name, 'memory.limit_in_bytes')) ?? Infinity,
      tasks: readNumber(this.file('pids', name, 'pids.current')) ?? this.pids(name).length,
      ioReadBytes: io.get('Read') ?? 0,
      ioWriteBytes: io.get('Write') ?? 0,
    };
  }

  limits(name: string): CgroupLimits | undefined {
    if (this.dirs(name).length === 0) return undefined;
    const mem = readNumber(this.file('memory', name, 'memory.limit_in_bytes')) ?? Infinity;
    const memsw = readNumber(this.file('memory', name, 'memory.memsw.limit_in_bytes'));
    const quota = readNumber(this.file('cpu', name, 'cpu.cfs_quota_us')) ?? Infinity;
    const period = readNumber(this.file('cpu', name, 'cpu.cfs_period_us')) ?? 100_000;
    const devices = new Map<string, IoDeviceLimit>();
    for (const [key, file] of THROTTLE_FILES) {
      for (const [device, rate] of parseDeviceValues(readText(this.file('blkio', name, file)))) {
        const e = devices.get(device) ?? { device };
        e[key] = rate;
        devices.set(device, e);
      }
    }
    const weight = readNumber(this.file('blkio', name, 'blkio.bfq.weight')) ?? readNumber(this.file('blkio', name, 'blkio.weight'));
    const cpuset = (
      readText(this.file('cpuset', name, 'cpuset.effective_cpus')) ?? readText(this.file('cpuset', name, 'cpuset.cpus'))
    )?.trim();
    return {
      memoryMax: mem,
      memoryHigh: readNumber(this.file('memory', name, 'memory.soft_limit_in_bytes')) ?? Infinity,
      swapMax: memsw === undefined ? undefined : memsw === Infinity || mem === Infinity ? Infinity : memsw - mem,
      cpuMaxCores: quota === Infinity ? Infinity : quota / period,
      cpuShares: readNumber(this.file('cpu', name, 'cpu.shares')),
      cpuset: cpuset || undefined,
      pidsMax: readNumber(this.file('pids', name, 'pids.max')) ?? Infinity,
      ioWeight: weight,
      io: [...devices.values()],
    };
  }

  events(name: string): CgroupEvents | undefined {
    if (this.dirs(name).length === 0) return undefined;
    const cpu = parseKeyValues(readText(this.file('cpu', name, 'cpu.stat')));
    return {
      memoryPeak: readNumber(this.file('memory', name, 'memory.max_usage_in_bytes')),
      oomKills: parseKeyValues(readText(this.file('memory', name, 'memory.oom_control'))).get('oom_kill') ?? 0,
      throttledUsec: (cpu.get('throttled_time') ?? 0) / 1000,
      throttledPeriods: cpu.get('nr_throttled') ?? 0,
      pidsRefused: parseKeyValues(readText(this.file('pids', name, 'pids.events'))).get('max') ?? 0,
    };
  }

  limitCounters(name: string): LimitCounters | undefined {
    const pids = readText(this.file('pids', name, 'pids.events'));
    const memory = readText(this.file('memory', name, 'memory.oom_control'));
    if (pids === undefined && memory === undefined) return undefined;
    return { oomKills: parseKeyValues(memory).get('oom_kill') ?? 0, pidsRefused: parseKeyValues(pids).get('max') ?? 0 };
  }

  writeUnlimited(name: string, what: { pids?: boolean; cpuQuota?: boolean }): void {
    if (what.pids) writeControl(this.file('pids', name, 'pids.max'), 'max');
    if (what.cpuQuota) writeControl(this.file('cpu', name, 'cpu.cfs_quota_us'), '-1');
  }

  writeIoLimits(name: string, limits: readonly IoDeviceLimit[]): void {
    for (const l of limits) {
      for (const [key, file] of THROTTLE_FILES) {
        const rate = l[key];
        // 0 removes the device's rule
        writeControl(this.file('blkio', name, file), `${l.device} ${rate === undefined || !Number.isFinite(rate) ? 0 : rate}`);
      }
    }
  }
}
