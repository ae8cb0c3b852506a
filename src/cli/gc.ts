// vserver gc: cleans up after guests that died without a stop, and says what it removed.
import type { CliContext } from './context.js';

export async function run(ctx: CliContext): Promise<number> {
  const reports = await ctx.engine().gc();
  if (ctx.json) {
    ctx.out(`${JSON.stringify({ reports })}\n`);
    return reports.some((r) => r.problems.length > 0) ? 1 : 0;
  }
  if (reports.length === 0) ctx.out('nothing to clean up\n');
  for (const r of reports) {
    const who = r.guest ?? 'host';
    if (r.skipped) ctx.out(`${who}: skipped (${r.skipped})\n`);
    if (r.removed.length > 0) ctx.out(`${who}: removed ${r.removed.join(', ')}\n`);
    for (const p of r.problems) ctx.err(`vserver: ${who}: ${p}\n`);
  }
  return reports.some((r) => r.problems.length > 0) ? 1 : 0;
}
