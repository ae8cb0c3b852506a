// vserver restart NAME [--timeout S]
import { intOpt, nameArg, type CliContext } from './context.js';
import { infoJson, printInfo } from './show.js';

export async function run(ctx: CliContext): Promise<number> {
  const info = await ctx.engine().restart(nameArg(ctx), { timeoutS: intOpt(ctx, 'timeout') });
  if (ctx.json) ctx.out(`${infoJson(info)}\n`);
  else {
    ctx.out(`restarted guest ${info.name}\n`);
    printInfo(ctx, info, false);
  }
  return 0;
}
