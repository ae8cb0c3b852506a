// Printing one guest's details as text.
import type { GuestInfo } from '../engine/index.js';
import type { CliContext } from './context.js';
import { formatDuration } from './format.js';

export function printInfo(ctx: CliContext, info: GuestInfo, withState = true): void {
  const rows: [string, string | number | undefined][] = [
    ['state', withState ? info.state : undefined],
    ['context', info.context],
    ['hostname', info.hostname],
    ['init', info.init],
    ['backend', info.backend],
    ['template', info.template],
    ['init pid', info.pid],
    ['processes', info.processes],
    ['uptime', info.uptime === undefined ? undefined : formatDuration(info.uptime)],
    ['ids', info.idmap ? `guest 0-${info.idmap.size - 1} = host ${info.idmap.base}-${info.idmap.base + info.idmap.size - 1}` : info.privileged ? 'host ids (privileged)' : undefined],
    ['error', info.error],
  ];
  for (const [k, v] of rows) if (v !== undefined) ctx.out(`  ${k.padEnd(10)} ${v}\n`);
  for (const w of info.warnings ?? []) ctx.out(`  warning: ${w}\n`);
}
