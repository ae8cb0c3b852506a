// vserver stop NAME [--timeout S]
import { intOpt, nameArg, type CliContext } from './context.js';

export async function run(ctx: CliContext): Promise<number> {
  const name = nameArg(ctx);
  await ctx.engine().stop(name, { timeoutS: intOpt(ctx, 'timeout') });
  ctx.out(ctx.json ? `${JSON.stringify({ name, state: 'stopped' })}\n` : `stopped guest ${name}\n`);
  return 0;
}
