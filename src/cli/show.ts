// Printing one guest's details as text.
import { onlineCpus } from '../resources/host-facts.js';
import type { GuestInfo } from '../engine/index.js';
import { statusRows } from '../view/status-rows.js';
import type { CliContext } from './context.js';

export function printInfo(ctx: CliContext, info: GuestInfo, withState = true): void {
  const rows = statusRows(info, { withState, onlineCpus: info.resources ? onlineCpus() : undefined });
  for (const [k, v] of rows) ctx.out(`  ${k.padEnd(10)} ${v}\n`);
  for (const w of info.warnings ?? []) ctx.err(`vserver: warning: ${w}\n`);
}
