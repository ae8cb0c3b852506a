// vserver stop NAME, or many guests at once (NAME..., --all, --mark M) [--timeout S]
import { isBulk, runBulk } from './bulk.js';
import { intOpt, nameArg, type CliContext } from './context.js';

export async function run(ctx: CliContext): Promise<number> {
  if (isBulk(ctx)) return runBulk(ctx, 'stop');
  const name = nameArg(ctx);
  await ctx.engine().stop(name, { timeoutS: intOpt(ctx, 'timeout') });
  ctx.out(ctx.json ? `${JSON.stringify({ name, state: 'stopped' })}\n` : `stopped guest ${name}\n`);
  return 0;
}
