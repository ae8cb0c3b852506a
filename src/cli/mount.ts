// vserver mount [NAME...] [--all]: mount overlay guests' merged trees (at boot: vserver mount --all).
import { VsError } from '../util/errors.js';
import type { CliContext } from './context.js';

export async function run(ctx: CliContext): Promise<number> {
  const names = ctx.args.positionals;
  if (names.length === 0 && ctx.args.options.all !== true) {
    throw new VsError('USAGE', "'mount' needs NAME or --all", 'for example: vserver mount --all (at boot)');
  }
  const reports = await ctx.engine().mount(names);
  if (ctx.json) ctx.out(`${JSON.stringify(reports)}\n`);
  else
    for (const r of reports) {
      if (r.error) ctx.err(`vserver: ${r.name}: ${r.error}\n`);
      else ctx.out(`${r.name}: ${r.mounted ? 'mounted' : 'already mounted'}\n`);
    }
  return reports.some((r) => r.error) ? 1 : 0;
}
