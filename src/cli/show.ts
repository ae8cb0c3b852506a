// Printing one guest's details as text.
import type { GuestInfo, GuestResources, InterfaceInfo } from '../engine/index.js';
import { formatSize } from '../util/units.js';
import type { CliContext } from './context.js';
import { formatDuration } from './format.js';

const lim = (n: number | undefined, f: (x: number) => string = formatSize) => (n === undefined || !Number.isFinite(n) ? 'max' : f(n));
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const seconds = (usec: number) => formatDuration(Math.floor(usec / 1e6), (usec % 1e6) / 1000);

/** Limits in force, what the guest used, and what the limits held back. */
export function resourceRows(r: GuestResources): [string, string][] {
  const { limits: l, usage: u, events: e } = r;
  const rows: [string, string][] = [];
  if (l && u) {
    rows.push(['memory', `${formatSize(u.memoryBytes)} of max ${lim(l.memoryMax)} (high ${lim(l.memoryHigh)}, swap ${lim(l.swapMax)})` +
      `${e?.memoryPeak === undefined ? '' : `; peak ${formatSize(e.memoryPeak)}`}; ${plural(e?.oomKills ?? 0, 'OOM kill')}`]);
    const weight = l.cpuWeight !== undefined ? `weight ${l.cpuWeight}` : l.cpuShares !== undefined ? `shares ${l.cpuShares}` : undefined;
    rows.push(['cpu', [`max ${lim(l.cpuMaxCores, (c) => `${+c.toFixed(2)} cores`)}`, weight, l.cpuset && `cpus ${l.cpuset}`].filter(Boolean).join(', ') +
      `; used ${seconds(u.userUsec)} user, ${seconds(u.systemUsec)} sys; throttled ${seconds(e?.throttledUsec ?? 0)} in ${plural(e?.throttledPeriods ?? 0, 'period')}`]);
    rows.push(['pids', `${u.tasks} of max ${lim(l.pidsMax, String)}; ${plural(e?.pidsRefused ?? 0, 'fork')} refused`]);
    const devs = l.io.map((d) => `${d.device}${d.readBps ? ` read ${formatSize(d.readBps)}/s` : ''}${d.writeBps ? ` write ${formatSize(d.writeBps)}/s` : ''}` +
      `${d.readIops ? ` ${d.readIops} reads/s` : ''}${d.writeIops ? ` ${d.writeIops} writes/s` : ''}`);
    rows.push(['io', [`read ${formatSize(u.ioReadBytes)}, written ${formatSize(u.ioWriteBytes)}`, `weight ${l.ioWeight ?? '-'}`, ...devs].join('; ')]);
  }
  if (r.rlimits) {
    const show = (k: string) => r.rlimits?.[k] && `${k} ${lim(r.rlimits[k]!.soft, String)}:${lim(r.rlimits[k]!.hard, String)}`;
    rows.push(['rlimits', ['nofile', 'nproc', 'memlock', 'core', 'stack'].map(show).filter(Boolean).join(', ')]);
  }
  rows.push(['/proc', r.lxcfs.note]);
  return rows;
}

export function printInfo(ctx: CliContext, info: GuestInfo, withState = true): void {
  const rows: [string, string | number | undefined][] = [
    ['state', withState ? info.state : undefined],
    ['context', info.context],
    ['hostname', info.hostname],
    ['init', info.init],
    ['backend', info.backend],
    ['template', info.template],
    ['tree', info.mounted === undefined ? undefined : info.mounted ? 'mounted'
      : `not mounted (as after a reboot): 'vserver mount ${info.name}' mounts it; start, exec and export mount it themselves`],
    ['init pid', info.pid],
    ['processes', info.processes],
    ['uptime', info.uptime === undefined ? undefined : formatDuration(info.uptime)],
    ['ids', info.idmap ? `guest 0-${info.idmap.size - 1} = host ${info.idmap.base}-${info.idmap.base + info.idmap.size - 1}` : info.privileged ? 'host ids (privileged)' : undefined],
    ['error', info.error],
    ...(info.resources ? resourceRows(info.resources) : []),
  ];
  for (const [k, v] of rows) if (v !== undefined) ctx.out(`  ${k.padEnd(10)} ${v}\n`);
  if (info.interfaces) for (const [k, v] of interfaceRows(info.interfaces)) ctx.out(`  ${k.padEnd(10)} ${v}\n`);
  for (const w of info.warnings ?? []) ctx.err(`vserver: warning: ${w}\n`);
}

/** JSON with "max" for no limit, where JSON itself has no infinity. */
export function infoJson(info: unknown): string {
  return JSON.stringify(info, (_k, v: unknown) => (v === Infinity ? 'max' : v));

}

/** One line per interface: its name, then mode, addresses and the host side. */
export function interfaceRows(list: InterfaceInfo[]): [string, string][] {
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
