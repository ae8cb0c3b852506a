// vserver import FILE|- [--name NEW]: recreate a guest from an export, verified against its manifest.
import { stringOpt, type CliContext } from './context.js';
import { printInfo } from './show.js';

export async function run(ctx: CliContext): Promise<number> {
  const file = ctx.args.positionals[0]!;
  const info = await ctx.engine().import(file, { name: stringOpt(ctx, 'name') });
  if (ctx.json) ctx.out(`${JSON.stringify(info)}\n`);
  else {
    ctx.out(`imported guest ${info.name} (context ${info.context}); every file matched the manifest\n`);
    printInfo(ctx, info, false);
  }
  return 0;
}
