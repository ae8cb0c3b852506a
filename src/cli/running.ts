// vserver running NAME: exit 0 or 1, print nothing (unless --json).
import { nameArg, type CliContext } from './context.js';

export async function run(ctx: CliContext): Promise<number> {
  const running = await ctx.engine().running(nameArg(ctx));
  if (ctx.json) ctx.out(`${JSON.stringify({ name: nameArg(ctx), running })}\n`);
  return running ? 0 : 1;
}
