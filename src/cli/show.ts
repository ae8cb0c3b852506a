// Printing one guest's details as text.
import type { GuestInfo, InterfaceInfo } from '../engine/index.js';
import type { CliContext } from './context.js';
import { formatDuration } from './format.js';

export function printInfo(ctx: CliContext, info: GuestInfo, withState = true): void {
  const rows: [string, string | number | undefined][] = [
    ['state', withState ? info.state : undefined],
    ['context', info.context],
    ['hostname', info.hostname],
    ['init', info.init],
    ['backend', info.backend],
    ['init pid', info.pid],
    ['processes', info.processes],
    ['uptime', info.uptime === undefined ? undefined : formatDuration(info.uptime)],
    ['error', info.error],
  ];
  for (const [k, v] of rows) if (v !== undefined) ctx.out(`  ${k.padEnd(10)} ${v}\n`);
  if (info.interfaces) for (const [k, v] of interfaceRows(info.interfaces)) ctx.out(`  ${k.padEnd(10)} ${v}\n`);
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
