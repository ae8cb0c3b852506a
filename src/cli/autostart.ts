// vserver autostart|autostop [--mark M] [--jobs N]: the guests of a mark by start_order, at boot and shutdown.
import { intOpt, stringOpt, type CliContext } from './context.js';
import { printResults } from './bulk.js';

export async function run(ctx: CliContext): Promise<number> {
  const direction = ctx.args.verb === 'autostop' ? 'stop' : 'start';
  const results = await ctx.engine().autoRun(direction, stringOpt(ctx, 'mark') ?? 'default', { jobs: intOpt(ctx, 'jobs') });
  return printResults(ctx, results);
}
