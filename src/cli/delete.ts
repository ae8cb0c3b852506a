// vserver delete NAME [--force]
import { nameArg, type CliContext } from './context.js';

export async function run(ctx: CliContext): Promise<number> {
  const name = nameArg(ctx);
  await ctx.engine().delete(name, { force: ctx.args.options.force === true });
  ctx.out(ctx.json ? `${JSON.stringify({ name, deleted: true })}\n` : `deleted guest ${name}\n`);
  return 0;
}
