// A guest's [limits] as OCI resources and rlimits, checked against the host; no I/O here.
import { parseValue } from '../guest/config.js';
import { IO_RATE_KEYS } from '../guest/limit-keys.js';
import type { Limits } from '../guest/limits-schema.js';
import type { OciResources, OciRlimit } from '../oci/types.js';
import { VsError, type ErrorCode } from '../util/errors.js';
import { formatCpuList, type Unlimited } from '../util/units.js';
import type { CgroupLayout, IoDeviceLimit } from './cgroup.js';

/** What the host offers, gathered once per command (see host-facts.ts). */
export interface HostFacts {
  layout: CgroupLayout;
  /** Online CPUs. */
  cpus: number[];
  /** Whether block I/O weights take effect: a disk uses the BFQ scheduler, which implements them. */
  ioWeight: boolean;
  /** Whether the kernel accounts swap per cgroup. */
  swapAccounting: boolean;
  /** Block devices named in limits.io, by the name used there: "MAJ:MIN", or why it is not usable. */
  devices: ReadonlyMap<string, { id: string } | { error: string }>;
}

export const CPU_PERIOD_USEC = 100_000;
/** The kernel's smallest CFS quota is 1 ms per period. */
export const CPU_MIN_CORES = 0.01;

type IoRateKey = (typeof IO_RATE_KEYS)[number];

/** A value from the command line: a cpuset stays text ("0" is CPU 0, not a number); others as in `config`. */
export function limitValue(path: readonly string[], raw: string): unknown {
  return path[path.length - 1] === 'cpuset' ? raw : parseValue(raw);
}

export interface LimitProblem {
  /** The key below [limits], for example "cpu.cpuset". */
  key: string;
  message: string;
}

/** One error for all problems: where (a file, or the command line), each key and what is wrong. */
export function limitsError(code: ErrorCode, where: string, problems: readonly LimitProblem[], hint: string): VsError {
  const text = problems.map((p) => `key 'limits.${p.key}' ${p.message}`).join('; ');
  return new VsError(code, `${where}: ${text}`, hint);
}

/** Every device named in limits.io. */
export function ioDevices(l: Limits | undefined): string[] {
  const out = new Set<string>();
  for (const k of IO_RATE_KEYS) for (const d of Object.keys(l?.io?.[k] ?? {})) out.add(d);
  return [...out];
}

/** What the schema cannot know: whether this host can enforce the limits. */
export function checkLimits(l: Limits | undefined, host: HostFacts): LimitProblem[] {
  const out: LimitProblem[] = [];
  if (!l) return out;
  const missing = l.cpu?.cpuset?.filter((c) => !host.cpus.includes(c)) ?? [];
  if (missing.length > 0) {
    out.push({
      key: 'cpu.cpuset',
      message: `names CPU${missing.length > 1 ? 's' : ''} ${formatCpuList(missing)}, which this host does not have (it has ${formatCpuList(host.cpus)})`,
    });
  }
  const cores = l.cpu?.max;
  if (typeof cores === 'number' && cores < CPU_MIN_CORES) {
    out.push({ key: 'cpu.max', message: `must be at least ${CPU_MIN_CORES} cores (the kernel's smallest quota is 1 ms per 100 ms)` });
  }
  if (l.io?.weight !== undefined && !host.ioWeight) {
    out.push({
      key: 'io.weight',
      message:
        'cannot be applied: no disk on this host uses the BFQ I/O scheduler, which ' +
        'implements I/O weights (echo bfq > /sys/block/DISK/queue/scheduler)',
    });
  }
  if (l.memory?.swap !== undefined && !host.swapAccounting) {
    out.push({
      key: 'memory.swap',
      message: 'cannot be applied: this kernel does not account swap per cgroup (boot it with swapaccount=1)',
    });
  }
  for (const k of IO_RATE_KEYS) {
    for (const dev of Object.keys(l.io?.[k] ?? {})) {
      const d = host.devices.get(dev);
      if (!d || 'error' in d)
        out.push({ key: `io.${k}.${dev}`, message: d && 'error' in d ? d.error : `names ${dev}, which is not a block device here` });
    }
  }
  return out;
}

/** OCI's "no limit" is -1. */
const bytes = (n: number | Unlimited): number => (n === 'max' ? -1 : n);

/**
 * The OCI resources for the limits. With `reset` (a running guest's update), every limit the
 * config does not set is given its "no limit" value, so that removing a key lifts the limit.
 */
export function toResources(l: Limits | undefined, host: HostFacts, reset = false): OciResources {
  const r: OciResources = {};
  const v2 = host.layout === 'v2';
  const unified: Record<string, string> = {};

  const max = l?.memory?.max;
  const memory: NonNullable<OciResources['memory']> = {};
  if (max !== undefined || reset) memory.limit = bytes(max ?? 'max');
  if (l?.memory?.swap !== undefined || (reset && host.swapAccounting)) {
    const swap = bytes(l?.memory?.swap ?? 'max');
    // OCI counts memory and swap together, as cgroup v1's memsw does
    memory.swap = swap < 0 || (memory.limit ?? -1) < 0 ? -1 : memory.limit! + swap;
  }
  const high = l?.memory?.high;
  if (high !== undefined || reset) {
    if (v2) unified['memory.high'] = bytes(high ?? 'max') < 0 ? 'max' : String(high);
    else memory.reservation = bytes(high ?? 'max');
  }
  if (Object.keys(memory).length > 0) r.memory = memory;

  const cpu: NonNullable<OciResources['cpu']> = {};
  const { weight, shares } = l?.cpu ?? {};
  if (v2) {
    if (weight !== undefined) unified['cpu.weight'] = String(weight);
    else if (shares !== undefined) unified['cpu.weight'] = String(clamp(Math.round((shares * 100) / 1024), 1, 10000));
    else if (reset) unified['cpu.weight'] = '100';
  } else if (shares !== undefined) cpu.shares = shares;
  else if (weight !== undefined) cpu.shares = clamp(Math.round((weight * 1024) / 100), 2, 262144);
  else if (reset) cpu.shares = 1024;
  const cores = l?.cpu?.max;
  if (typeof cores === 'number') {
    cpu.quota = Math.round(cores * CPU_PERIOD_USEC);
    cpu.period = CPU_PERIOD_USEC;
  } else if (reset) {
    // 'max' at a start needs nothing: a new cgroup has no quota (and crun 1.8 cannot write one)
    cpu.quota = -1;
    cpu.period = CPU_PERIOD_USEC;
  }
  const cpus = l?.cpu?.cpuset;
  if (cpus) cpu.cpus = formatCpuList(cpus);
  else if (reset && host.cpus.length > 0) cpu.cpus = formatCpuList(host.cpus);
  if (Object.keys(cpu).length > 0) r.cpu = cpu;

  const pids = l?.pids?.max;
  if (typeof pids === 'number') r.pids = { limit: pids };
  else if (reset) r.pids = { limit: -1 }; // likewise

  const ioWeight = l?.io?.weight ?? (reset && host.ioWeight ? 100 : undefined);
  if (ioWeight !== undefined) {
    if (v2) unified['io.bfq.weight'] = String(ioWeight);
    else r.blockIO = { weight: ioWeight };
  }
  if (!reset) {
    const devs = ioDeviceLimits(l, host);
    const rates = (key: keyof IoDeviceLimit) =>
      devs
        .filter((d) => typeof d[key] === 'number' && Number.isFinite(d[key]))
        .map((d) => ({ major: Number(d.device.split(':')[0]), minor: Number(d.device.split(':')[1]), rate: d[key] as number }));
    const io: NonNullable<OciResources['blockIO']> = {
      throttleReadBpsDevice: rates('readBps'),
      throttleWriteBpsDevice: rates('writeBps'),
      throttleReadIOPSDevice: rates('readIops'),
      throttleWriteIOPSDevice: rates('writeIops'),
    };
    for (const k of Object.keys(io) as (keyof typeof io)[]) if ((io[k] as unknown[]).length === 0) delete io[k];
    if (Object.keys(io).length > 0) r.blockIO = { ...r.blockIO, ...io };
  }
  if (Object.keys(unified).length > 0) r.unified = unified;
  return r;
}

/** Per-device throttles by MAJ:MIN; devices that did not resolve are left out (checkLimits reports them). */
export function ioDeviceLimits(l: Limits | undefined, host: HostFacts): IoDeviceLimit[] {
  const out = new Map<string, IoDeviceLimit>();
  const field: Record<IoRateKey, keyof Omit<IoDeviceLimit, 'device'>> = {
    read_bps: 'readBps',
    write_bps: 'writeBps',
    read_iops: 'readIops',
    write_iops: 'writeIops',
  };
  for (const k of IO_RATE_KEYS) {
    for (const [dev, rate] of Object.entries(l?.io?.[k] ?? {})) {
      const d = host.devices.get(dev);
      if (!d || 'error' in d) continue;
      const e = out.get(d.id) ?? { device: d.id };
      e[field[k]] = rate === 'max' ? Infinity : rate;
      out.set(d.id, e);
    }
  }
  return [...out.values()];
}

/** The throttles to write so that a running guest has exactly `wanted`: devices it no longer names are cleared. */
export function ioDeviceChanges(wanted: readonly IoDeviceLimit[], current: readonly IoDeviceLimit[]): IoDeviceLimit[] {
  const out = [...wanted];
  for (const c of current) if (!wanted.some((w) => w.device === c.device)) out.push({ device: c.device });
  return out;
}

/** The guest's rlimits: the defaults, overridden by the config (the host's ceiling is applied by clampRlimits). */
export function wantedRlimits(l: Limits | undefined, defaults: readonly OciRlimit[]): OciRlimit[] {
  const byType = new Map(defaults.map((r) => [r.type, { ...r }]));
  for (const [name, p] of Object.entries(l?.rlimits ?? {})) {
    const type = `RLIMIT_${name.toUpperCase()}`;
    if (p) byType.set(type, { type, soft: p.soft, hard: p.hard });
  }
  return [...byType.values()];
}

/** Warnings for each rlimit the config sets that clamping lowered (the built-in defaults give way silently). */
export function loweredRlimits(l: Limits | undefined, granted: readonly OciRlimit[]): string[] {
  const wanted = wantedRlimits(l, []);
  return granted
    .filter((g) => {
      const w = wanted.find((x) => x.type === g.type);
      return w !== undefined && g.hard < w.hard;
    })
    .map((g) => `rlimits.${g.type.slice(7).toLowerCase()}: hard limit lowered to ${g.hard}, the most this host lets vserver set`);
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}
