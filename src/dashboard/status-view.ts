// A guest's status as the rows `vserver status` prints, from the API's JSON (null or "max": no limit).
import { formatBytes, formatDuration } from './format.js';
import type { GuestInfo as Guest, InterfaceInfo as Iface } from '../wire/guest.js';
import type { CgroupEvents, CgroupLimits } from '../wire/resources.js';

type Num = number | null | undefined;
const isSet = (n: Num): n is number => typeof n === 'number' && Number.isFinite(n);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const secs = (usec: Num) => `${((usec ?? 0) / 1e6).toFixed(2)} s`;

function resourceRows(r: NonNullable<Guest['resources']>): [string, string][] {
  const l: Partial<CgroupLimits> = r.limits ?? {};
  const u = r.usage;
  const e: Partial<CgroupEvents> = r.events ?? {};
  const rows: [string, string][] = [];
  if (u) {
    const mem = isSet(l.memoryMax)
      ? `${formatBytes(u.memoryBytes)} of ${formatBytes(l.memoryMax)}`
      : `${formatBytes(u.memoryBytes)}, no limit`;
    rows.push([
      'memory',
      `${mem}${isSet(e.memoryPeak) ? `; peak ${formatBytes(e.memoryPeak)}` : ''}; ${plural(e.oomKills ?? 0, 'OOM kill')}`,
    ]);
    const cpu =
      [
        isSet(l.cpuMaxCores) ? `at most ${+l.cpuMaxCores.toFixed(2)} cores` : undefined,
        isSet(l.cpuWeight) && l.cpuWeight !== 100 ? `weight ${l.cpuWeight}` : undefined,
      ]
        .filter(Boolean)
        .join(', ') || 'no limit';
    rows.push([
      'cpu',
      `${cpu}; used ${secs(u.userUsec)} user, ${secs(u.systemUsec)} sys; throttled ${secs(e.throttledUsec)} in ${plural(e.throttledPeriods ?? 0, 'period')}`,
    ]);
    rows.push([
      'pids',
      `${u.tasks ?? 0}${isSet(l.pidsMax) ? ` of ${l.pidsMax}` : ', no limit'}; ${plural(e.pidsRefused ?? 0, 'fork')} refused`,
    ]);
    rows.push([
      'io',
      `read ${formatBytes(u.ioReadBytes ?? 0)}, written ${formatBytes(u.ioWriteBytes ?? 0)}${isSet(l.ioWeight) ? `; weight ${l.ioWeight}` : ''}`,
    ]);
  }
  if (r.rlimits) {
    const t = (v: number | null) => (v === null || !Number.isFinite(v) ? 'unlimited' : String(v));
    rows.push([
      'rlimits',
      ['nofile', 'nproc', 'memlock', 'core', 'stack']
        .filter((k) => r.rlimits![k])
        .map((k) => `${k} ${t(r.rlimits![k]!.soft)}:${t(r.rlimits![k]!.hard)}`)
        .join(', '),
    ]);
  }
  if (r.lxcfs) rows.push(['/proc', r.lxcfs.note]);
  return rows;
}

function interfaceRows(list: Iface[] & { gateways?: string[] }[]): [string, string][] {
  if (list.length === 0) return [['network', 'none (loopback only)']];
  return list.map((i) => {
    if (i.mode === 'host') return ['network', "host (shares the host's network stack: no network isolation)"];
    if (i.mode === 'none') return ['network', 'none (loopback only)'];
    return [i.name ?? '-', `${i.mode} ${i.addresses.join(' ') || '(no address)'}${i.bridge ? `; on ${i.bridge}` : ''}`];
  });
}

export function statusRows(g: Guest): [string, string][] {
  const rows: [string, string | number | undefined][] = [
    ['state', g.state],
    ['context', g.context],
    ['hostname', g.hostname],
    ['init', g.init],
    ['backend', g.backend],
    ['template', g.template],
    ['mark', g.mark],
    ['init pid', g.pid],
    ['processes', g.processes],
    ['uptime', g.uptime === undefined ? undefined : formatDuration(g.uptime)],
    [
      'ids',
      g.idmap
        ? `guest 0-${g.idmap.size - 1} = host ${g.idmap.base}-${g.idmap.base + g.idmap.size - 1}`
        : g.privileged
          ? 'host ids (privileged)'
          : undefined,
    ],
    ['error', g.error],
  ];
  return [
    ...rows
      .filter((r): r is [string, string | number] => r[1] !== undefined && r[1] !== '')
      .map(([k, v]): [string, string] => [k, String(v)]),
    ...(g.resources ? resourceRows(g.resources) : []),
    ...(g.interfaces ? interfaceRows(g.interfaces) : []),
    ...(g.warnings ?? []).map((w): [string, string] => ['warning', w]),
  ];
}
