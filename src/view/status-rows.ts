// A guest's status as (label, text) rows: `vserver status` prints them and the dashboard shows them.
// Pure and Node-free, so that the browser bundle and the CLI share one text.
import { formatDuration, formatSize, parseCpuList, rlimitText } from '../util/units.js';
import type { GuestInfo, InterfaceInfo } from '../wire/guest.js';
import type { CgroupLimits, GuestResources } from '../wire/resources.js';

export type Row = [string, string];

const isSet = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const seconds = (usec: number) => formatDuration(Math.floor(usec / 1e6), (usec % 1e6) / 1000);
/** The kernel's defaults for cpu.weight (v2) and cpu.shares (v1): a guest that sets neither has them. */
const DEFAULT_WEIGHT = 100;
const DEFAULT_SHARES = 1024;

/** "USED of MAX (high H, swap S)", or "USED, no limit": only what is set is named. */
function memoryText(used: number, l: CgroupLimits): string {
  const extra = [
    isSet(l.memoryHigh) && `high ${formatSize(l.memoryHigh)}`,
    isSet(l.swapMax) && isSet(l.memoryMax) && `swap ${formatSize(l.swapMax)}`,
  ].filter(Boolean);
  const base = isSet(l.memoryMax) ? `${formatSize(used)} of ${formatSize(l.memoryMax)}` : `${formatSize(used)}, no limit`;
  return extra.length > 0 ? `${base} (${extra.join(', ')})` : base;
}

/**
 * "at most 0.5 cores, weight 200, cpus 1", or "no limit": the weight and cpus only when they differ
 * from the defaults (the cpus only where the host's online CPUs are known to compare with).
 */
function cpuText(l: CgroupLimits, onlineCpus: readonly number[] | undefined): string {
  const weight =
    l.cpuWeight !== undefined && l.cpuWeight !== DEFAULT_WEIGHT
      ? `weight ${l.cpuWeight}`
      : l.cpuShares !== undefined && l.cpuShares !== DEFAULT_SHARES
        ? `shares ${l.cpuShares}`
        : undefined;
  const cpus = l.cpuset && onlineCpus && parseCpuList(l.cpuset)?.join(',') !== onlineCpus.join(',') ? `cpus ${l.cpuset}` : undefined;
  const parts = [isSet(l.cpuMaxCores) ? `at most ${+l.cpuMaxCores.toFixed(2)} cores` : undefined, weight, cpus].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : 'no limit';
}

/** Limits in force, what the guest used, and what the limits held back. */
export function resourceRows(r: GuestResources, onlineCpus?: readonly number[]): Row[] {
  const { limits: l, usage: u, events: e } = r;
  const rows: Row[] = [];
  if (l && u) {
    rows.push([
      'memory',
      `${memoryText(u.memoryBytes, l)}` +
        `${e?.memoryPeak === undefined ? '' : `; peak ${formatSize(e.memoryPeak)}`}; ${plural(e?.oomKills ?? 0, 'OOM kill')}`,
    ]);
    rows.push([
      'cpu',
      `${cpuText(l, onlineCpus)}; used ${seconds(u.userUsec)} user, ${seconds(u.systemUsec)} sys; ` +
        `throttled ${seconds(e?.throttledUsec ?? 0)} in ${plural(e?.throttledPeriods ?? 0, 'period')}`,
    ]);
    rows.push([
      'pids',
      `${u.tasks}${isSet(l.pidsMax) ? ` of ${l.pidsMax}` : ', no limit'}; ${plural(e?.pidsRefused ?? 0, 'fork')} refused`,
    ]);
    const devs = l.io.map(
      (d) =>
        `${d.device}${d.readBps ? ` read ${formatSize(d.readBps)}/s` : ''}${d.writeBps ? ` write ${formatSize(d.writeBps)}/s` : ''}` +
        `${d.readIops ? ` ${d.readIops} reads/s` : ''}${d.writeIops ? ` ${d.writeIops} writes/s` : ''}`,
    );
    rows.push([
      'io',
      [
        `read ${formatSize(u.ioReadBytes)}, written ${formatSize(u.ioWriteBytes)}`,
        l.ioWeight !== undefined && `weight ${l.ioWeight}`,
        ...devs,
      ]
        .filter(Boolean)
        .join('; '),
    ]);
  }
  if (r.rlimits) {
    const show = (k: string) => r.rlimits?.[k] && `${k} ${rlimitText(r.rlimits[k]!.soft)}:${rlimitText(r.rlimits[k]!.hard)}`;
    rows.push(['rlimits', ['nofile', 'nproc', 'memlock', 'core', 'stack'].map(show).filter(Boolean).join(', ')]);
  }
  rows.push(['/proc', r.lxcfs.note]);
  return rows;
}

/** One line per interface: its name, then mode, addresses and the host side. */
export function interfaceRows(list: readonly InterfaceInfo[]): Row[] {
  if (list.length === 0) return [['network', 'none (loopback only)']];
  return list.map((i) => {
    if (i.mode === 'host') return ['network', "host (shares the host's network stack: no network isolation)"];
    if (i.mode === 'none') return ['network', 'none (loopback only)'];
    const parts = [`${i.mode} ${i.addresses.join(' ') || '(no address)'}`];
    if (i.gateways && i.gateways.length > 0) parts[0] += ` via ${i.gateways.join(' ')}`;
    if (i.hostDevice) parts.push(`host side ${i.hostDevice} on ${i.bridge}`);
    else if (i.parent) parts.push(`${i.mode === 'phys' ? 'host NIC' : 'on'} ${i.parent}`);
    if (i.ports && i.ports.length > 0) parts.push(`forwards ${i.ports.join(' ')}`);
    if (i.nat) parts.push('outbound NAT');
    return [i.name ?? '-', parts.join('; ')];
  });
}

/** Every row of a guest's status but its warnings, which the CLI writes apart (to stderr). */
export function statusRows(info: GuestInfo, opts: { withState?: boolean; onlineCpus?: readonly number[] } = {}): Row[] {
  const rows: [string, string | number | undefined][] = [
    ['state', opts.withState === false ? undefined : info.state],
    ['context', info.context],
    ['hostname', info.hostname],
    ['init', info.init],
    ['backend', info.backend],
    ['template', info.template],
    [
      'tree',
      info.mounted === undefined
        ? undefined
        : info.mounted
          ? 'mounted'
          : `not mounted (as after a reboot): 'vserver mount ${info.name}' mounts it; start, exec and export mount it themselves`,
    ],
    ['init pid', info.pid],
    ['processes', info.processes],
    ['uptime', info.uptime === undefined ? undefined : formatDuration(info.uptime)],
    [
      'ids',
      info.idmap
        ? `guest 0-${info.idmap.size - 1} = host ${info.idmap.base}-${info.idmap.base + info.idmap.size - 1}`
        : info.privileged
          ? 'host ids (privileged)'
          : undefined,
    ],
    ['error', info.error],
  ];
  return [
    ...rows.filter((r): r is [string, string | number] => r[1] !== undefined).map(([k, v]): Row => [k, String(v)]),
    ...(info.resources ? resourceRows(info.resources, opts.onlineCpus) : []),
    ...(info.interfaces ? interfaceRows(info.interfaces) : []),
  ];
}
