// vserver unify [NAME]: share identical file contents between guests (XFS, btrfs), report the bytes saved.
import { human } from './du.js';
import { intOpt, type CliContext } from './context.js';

export async function run(ctx: CliContext): Promise<number> {
  const r = await ctx.engine().unify(ctx.args.positionals, { minSize: intOpt(ctx, 'min-size') });
  if (ctx.json) ctx.out(`${JSON.stringify(r)}\n`);
  else {
    ctx.out(`looked at ${r.candidates} files in ${r.trees} trees; ${r.groups} sets of identical files\n`);
    ctx.out(`deduplicated ${human(r.deduped)} in ${r.files} files; the filesystem freed ${human(r.freed)}\n`);
    if (r.skipped > 0) ctx.out(`${r.skipped} files changed while we looked and were left as they are\n`);
  }
  return 0;
}
