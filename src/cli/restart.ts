// vserver restart NAME, or many guests at once (NAME..., --all, --mark M) [--timeout S]
import { isBulk, runBulk } from './bulk.js';
import { intOpt, nameArg, type CliContext } from './context.js';
import { wireJson } from '../wire/json.js';
import { printInfo } from './show.js';

export async function run(ctx: CliContext): Promise<number> {
  if (isBulk(ctx)) return runBulk(ctx, 'restart');
  const info = await ctx.engine().restart(nameArg(ctx), { timeoutS: intOpt(ctx, 'timeout') });
  if (ctx.json) ctx.out(`${wireJson(info)}\n`);
  else {
    ctx.out(`restarted guest ${info.name}\n`);
    printInfo(ctx, info, false);
  }
  return 0;
}
