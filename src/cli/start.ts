// vserver start NAME
import { nameArg, type CliContext } from './context.js';
import { infoJson, printInfo } from './show.js';

export async function run(ctx: CliContext): Promise<number> {
  const info = await ctx.engine().start(nameArg(ctx));
  if (ctx.json) ctx.out(`${infoJson(info)}\n`);
  else {
    ctx.out(`started guest ${info.name}\n`);
    printInfo(ctx, info, false);
  }
  return 0;
}
