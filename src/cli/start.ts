// vserver start NAME, or many guests at once (NAME..., --all, --mark M)
import { isBulk, runBulk } from './bulk.js';
import { nameArg, type CliContext } from './context.js';
import { wireJson } from '../wire/json.js';
import { printInfo } from './show.js';

export async function run(ctx: CliContext): Promise<number> {
  if (isBulk(ctx)) return runBulk(ctx, 'start');
  const info = await ctx.engine().start(nameArg(ctx));
  if (ctx.json) ctx.out(`${wireJson(info)}\n`);
  else {
    ctx.out(`started guest ${info.name}\n`);
    printInfo(ctx, info, false);
  }
  return 0;
}
