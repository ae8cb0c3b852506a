// vserver status NAME: exit 0 when running, 3 when stopped.
import { nameArg, type CliContext } from './context.js';
import { wireJson } from '../wire/json.js';
import { printInfo } from './show.js';

export const EXIT_STOPPED = 3;

export async function run(ctx: CliContext): Promise<number> {
  const info = await ctx.engine().status(nameArg(ctx));
  if (ctx.json) ctx.out(`${wireJson(info)}\n`);
  else {
    ctx.out(`${info.name}: ${info.state}\n`);
    printInfo(ctx, info, false);
  }
  return info.state === 'running' || info.state === 'paused' ? 0 : EXIT_STOPPED;
}
