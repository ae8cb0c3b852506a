// vserver import FILE|- [--name NEW] [--trust-config] [--verify KEY.pub]: recreate a guest from an export, verified against its manifest.
import { stringOpt, type CliContext } from './context.js';
import { printInfo } from './show.js';

export async function run(ctx: CliContext): Promise<number> {
  const file = ctx.args.positionals[0]!;
  const trustConfig = ctx.args.options['trust-config'] === true;
  const verify = stringOpt(ctx, 'verify');
  const info = await ctx.engine().import(file, { name: stringOpt(ctx, 'name'), trustConfig, verify });
  // on stderr even with --json: whoever runs the import must see what the archive asked for
  if (info.dropped.length > 0) {
    ctx.err(
      `vserver: the archive's config asked for more than a guest gets by default; left out:\n${info.dropped.map((d) => `  ${d}\n`).join('')}` +
        `  if you trust whoever made ${file === '-' ? 'the archive' : file}, import it with --trust-config, or set these with 'vserver config ${info.name} KEY VALUE'\n`,
    );
  }
  if (info.trusted.length > 0) {
    ctx.err(`vserver: warning: --trust-config: kept what the archive's config asks for:\n${info.trusted.map((d) => `  ${d}\n`).join('')}`);
  }
  if (ctx.json) ctx.out(`${JSON.stringify(info)}\n`);
  else {
    ctx.out(`imported guest ${info.name} (context ${info.context}); every file matched the manifest\n`);
    if (verify !== undefined) ctx.out(`  signature  good, by the key in ${verify}\n`);
    printInfo(ctx, info, false);
  }
  return 0;
}
