// vserver stat: util-vserver's vserver-stat, one line per running guest and one for the host.
import type { StatRow } from '../resources/stat.js';
import { formatDuration, formatSize } from '../util/units.js';
import type { CliContext } from './context.js';

/** Seconds with their fraction, in vserver-stat's MmSSsMS / HhMMmSS / DdHHhMM form. */
export function formatSeconds(sec: number): string {
  return formatDuration(Math.floor(sec), (sec % 1) * 1000);
}

/** vserver-stat's own layout: CTX left-aligned in 5, then right-aligned columns, the name last. */
function line(c: string[]): string {
  const [ctx, proc, vsz, rss, user, sys, up, name] = c as [string, string, string, string, string, string, string, string];
  return `${ctx.padEnd(5)} ${proc.padStart(4)} ${vsz.padStart(6)} ${rss.padStart(6)} ${user.padStart(9)} ${sys.padStart(9)} ${up.padStart(9)} ${name}`;
}

export function statTable(rows: readonly StatRow[]): string {
  return (
    [
      line(['CTX', 'PROC', 'VSZ', 'RSS', 'userTIME', 'sysTIME', 'UPTIME', 'NAME']),
      ...rows.map((r) =>
        line([
          String(r.context),
          String(r.processes),
          formatSize(r.vsz),
          formatSize(r.rss),
          formatSeconds(r.userSec),
          formatSeconds(r.sysSec),
          formatDuration(r.uptimeSec),
          r.name,
        ]),
      ),
    ].join('\n') + '\n'
  );
}

export async function run(ctx: CliContext): Promise<number> {
  const rows = await ctx.engine().stat();
  ctx.out(ctx.json ? `${JSON.stringify(rows)}\n` : statTable(rows));
  return 0;
}
