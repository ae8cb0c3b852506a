// vserver export NAME [FILE|-] [--sign KEY]: a stopped guest as a zstd-compressed tar with a checksum manifest.
import { VsError } from '../util/errors.js';
import { nameArg, stringOpt, type CliContext } from './context.js';

export async function run(ctx: CliContext): Promise<number> {
  const name = nameArg(ctx);
  const file = ctx.args.positionals[1] ?? `${name}.tar.zst`;
  if (file === '-' && process.stdout.isTTY) {
    throw new VsError(
      'USAGE',
      'refusing to write a compressed archive to a terminal',
      `redirect it: vserver export ${name} - > ${name}.tar.zst`,
    );
  }
  const r = await ctx.engine().export(name, file, { sign: stringOpt(ctx, 'sign') });
  const say = file === '-' ? ctx.err : ctx.out;
  if (ctx.json && file !== '-') ctx.out(`${JSON.stringify(r)}\n`);
  else {
    say(`exported guest ${name} (${r.members} files) to ${file === '-' ? 'standard output' : file}\n`);
    if (r.signature) say(`signed: ${r.signature}\n`);
  }
  if (r.unmapped > 0)
    ctx.err(`vserver: warning: ${r.unmapped} files were owned by ids outside the guest's range; they were written as nobody (65534)\n`);
  return 0;
}
