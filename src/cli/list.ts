// vserver list [--json]
import type { GuestInfo } from '../engine/index.js';
import type { CliContext } from './context.js';
import { formatDuration } from '../util/units.js';
import { table } from './format.js';

export async function run(ctx: CliContext): Promise<number> {
  const guests = await ctx.engine().list();
  if (ctx.json) {
    ctx.out(`${JSON.stringify(guests)}\n`);
    return 0;
  }
  ctx.out(
    table(
      ['NAME', 'CONTEXT', 'STATE', 'PID', 'UPTIME', 'ADDRESS'],
      guests.map((g) => [
        g.name,
        g.context,
        g.mounted === false ? `${g.state} (not mounted)` : g.state,
        g.pid ?? '-',
        g.uptime === undefined ? '-' : formatDuration(g.uptime),
        firstAddress(g),
      ]),
    ),
  );
  for (const g of guests) if (g.error) ctx.err(`vserver: ${g.error}\n`);
  return 0;
}

function firstAddress(g: GuestInfo): string {
  const i = g.interfaces?.[0];
  if (!i) return '-';
  if (i.mode === 'host') return 'host';
  return i.addresses[0]?.split('/')[0] ?? '-';
}
