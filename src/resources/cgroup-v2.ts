// The unified hierarchy (cgroup v2): one tree, one directory per guest.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
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
  delegateV2,
  firstTreePid,
  listPrefixed,
  parseKeyValues,
  removeAll,
  readLines,
  readNumber,
  readText,
  treePids,
  writeControl,
} from './cgroup-files.js';

/** "MAJ:MIN key=value ..." lines of io.stat and io.max. */
export function parseIoLines(text: string | undefined): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const line of (text ?? '').split('\n')) {
    const [dev, ...pairs] = line.trim().split(/\s+/);
    if (!dev || !/^\d+:\d+$/.test(dev)) continue;
    const m = new Map<string, number>();
    for (const p of pairs) {
      const [k, val] = p.split('=');
      if (k && val !== undefined) m.set(k, val === 'max' ? Infinity : Number(val));
    }
    out.set(dev, m);
  }
  return out;
}

/** cpu.max "QUOTA PERIOD" (QUOTA may be "max") as cores. */
export function parseCpuMax(text: string | undefined): number {
  const [quota, period] = (text ?? 'max').trim().split(/\s+/);
  if (!quota || quota === 'max' || !period) return Infinity;
  return Number(quota) / Number(period);
}

const finite = (n: number) => (Number.isFinite(n) ? n : undefined);

export class CgroupV2 implements CgroupReader {
  readonly layout: CgroupLayout = 'v2';
  constructor(readonly root = '/sys/fs/cgroup') {}

  /** Cgroup names are vserver's own (no slash, no dot): no path.join, which stat and top call thousands of times. */
  private dir(name: string): string {
    return `${this.root}/${name}`;
  }

  dirs(name: string): string[] {
    const d = this.dir(name);
    return existsSync(d) ? [d] : [];
  }

  pids(name: string): number[] {
    return treePids(this.dir(name));
  }

  firstPid(name: string): number | undefined {
    return firstTreePid(this.dir(name));
  }

  list(prefix: string): string[] {
    return listPrefixed(this.root, prefix);
  }

  delegate(name: string, uid: number, gid: number): string[] {
    const out: string[] = [];
    for (const d of this.dirs(name)) delegateV2(d, uid, gid, out);
    return out;
  }

  remove(name: string): string[] {
    return removeAll(this.dirs(name));
  }

  cpuTimes(name: string): CpuTimes | undefined {
    const cpu = readText(`${this.dir(name)}/cpu.stat`);
    if (cpu === undefined) return undefined;
    const c = parseKeyValues(cpu);
    return { userUsec: c.get('user_usec') ?? 0, systemUsec: c.get('system_usec') ?? 0 };
  }

  usage(name: string, { swap = true }: { swap?: boolean } = {}): CgroupUsage | undefined {
    const d = this.dir(name);
    const cpu = readText(join(d, 'cpu.stat'));
    if (cpu === undefined) return undefined;
    const c = parseKeyValues(cpu);
    let r = 0;
    let w = 0;
    for (const m of parseIoLines(readText(join(d, 'io.stat'))).values()) {
      r += m.get('rbytes') ?? 0;
      w += m.get('wbytes') ?? 0;
    }
    const swapBytes = swap ? readNumber(join(d, 'memory.swap.current')) : undefined;
    return {
      ...(swapBytes === undefined ? {} : { swapBytes }),
      cpuUsec: c.get('usage_usec') ?? 0,
      userUsec: c.get('user_usec') ?? 0,
      systemUsec: c.get('system_usec') ?? 0,
      memoryBytes: readNumber(join(d, 'memory.current')) ?? 0,
      memoryMax: readNumber(join(d, 'memory.max')) ?? Infinity,
      tasks: readNumber(join(d, 'pids.current')) ?? readLines(join(d, 'cgroup.procs')).length,
      ioReadBytes: r,
      ioWriteBytes: w,
    };
  }

  limits(name: string): CgroupLimits | undefined {
    const d = this.dir(name);
    if (!existsSync(d)) return undefined;
    const io: IoDeviceLimit[] = [];
    for (const [device, m] of parseIoLines(readText(join(d, 'io.max')))) {
      io.push({
        device,
        readBps: finite(m.get('rbps') ?? Infinity),
        writeBps: finite(m.get('wbps') ?? Infinity),
        readIops: finite(m.get('riops') ?? Infinity),
        writeIops: finite(m.get('wiops') ?? Infinity),
      });
    }
    const ioWeight = /^default\s+(\d+)/m.exec(readText(join(d, 'io.bfq.weight')) ?? readText(join(d, 'io.weight')) ?? '');
    const cpuset = (readText(join(d, 'cpuset.cpus.effective')) ?? readText(join(d, 'cpuset.cpus')))?.trim();
    return {
      memoryMax: readNumber(join(d, 'memory.max')) ?? Infinity,
      memoryHigh: readNumber(join(d, 'memory.high')) ?? Infinity,
      swapMax: readNumber(join(d, 'memory.swap.max')),
      cpuMaxCores: parseCpuMax(readText(join(d, 'cpu.max'))),
      cpuWeight: readNumber(join(d, 'cpu.weight')),
      cpuset: cpuset || undefined,
      pidsMax: readNumber(join(d, 'pids.max')) ?? Infinity,
      ioWeight: ioWeight ? Number(ioWeight[1]) : undefined,
      io,
    };
  }

  events(name: string): CgroupEvents | undefined {
    const d = this.dir(name);
    const cpu = readText(join(d, 'cpu.stat'));
    if (cpu === undefined) return undefined;
    const c = parseKeyValues(cpu);
    return {
      memoryPeak: readNumber(join(d, 'memory.peak')),
      oomKills: parseKeyValues(readText(join(d, 'memory.events'))).get('oom_kill') ?? 0,
      throttledUsec: c.get('throttled_usec') ?? 0,
      throttledPeriods: c.get('nr_throttled') ?? 0,
      pidsRefused: parseKeyValues(readText(join(d, 'pids.events'))).get('max') ?? 0,
    };
  }

  limitCounters(name: string): LimitCounters | undefined {
    const d = this.dir(name);
    const pids = readText(join(d, 'pids.events'));
    const memory = readText(join(d, 'memory.events'));
    if (pids === undefined && memory === undefined) return undefined;
    return { oomKills: parseKeyValues(memory).get('oom_kill') ?? 0, pidsRefused: parseKeyValues(pids).get('max') ?? 0 };
  }

  writeUnlimited(name: string, what: { pids?: boolean; cpuQuota?: boolean }): void {
    if (what.pids) writeControl(join(this.dir(name), 'pids.max'), 'max');
    if (what.cpuQuota) writeControl(join(this.dir(name), 'cpu.max'), 'max');
  }

  writeIoLimits(name: string, limits: readonly IoDeviceLimit[]): void {
    const v = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? 'max' : String(n));
    for (const l of limits) {
      writeControl(
        join(this.dir(name), 'io.max'),
        `${l.device} rbps=${v(l.readBps)} wbps=${v(l.writeBps)} riops=${v(l.readIops)} wiops=${v(l.writeIops)}`,
      );
    }
  }
}
