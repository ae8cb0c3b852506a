// vserver import-legacy /etc/vservers/NAME [--name N] [--copy|--in-place] [--privileged]: a util-vserver
// guest becomes a guest here; every file of its configuration is listed with what became of it.
import { VsError } from '../util/errors.js';
import { stringOpt, type CliContext } from './context.js';
import { printInfo } from './show.js';

function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value, null, 0);
}

export async function run(ctx: CliContext): Promise<number> {
  const dir = ctx.args.positionals[0]!;
  const copy = ctx.args.options.copy === true;
  const inPlace = ctx.args.options['in-place'] === true;
  if (copy && inPlace)
    throw new VsError(
      'USAGE',
      '--copy and --in-place exclude each other',
      'give one: --copy (the default) keeps the legacy tree as it is; --in-place moves it',
    );
  const r = await ctx
    .engine()
    .importLegacy(dir, { name: stringOpt(ctx, 'name'), inPlace, privileged: ctx.args.options.privileged === true });
  if (ctx.json) {
    ctx.out(`${JSON.stringify(r)}\n`);
    return 0;
  }
  ctx.out(
    `imported util-vserver guest ${r.name} (context ${r.context}${r.contextWanted !== undefined ? `; ${r.contextWanted} is taken here` : ''})\n`,
  );
  ctx.out(`  tree       ${r.method === 'copy' ? `copied from ${r.source} (left as it was)` : `moved from ${r.source}`}\n`);
  ctx.out(
    r.privileged
      ? '  owners     kept (--privileged: guest root is host root)\n'
      : `  owners     ${r.shifted} files moved to host ids ${r.idmap!.base}..\n`,
  );
  printInfo(ctx, r, false);
  const byStatus = (s: string) => r.items.filter((i) => i.status === s);
  ctx.out('\ntranslated:\n');
  for (const i of byStatus('translated'))
    ctx.out(`  ${i.file}${i.key ? ` -> ${i.key}${i.value !== undefined ? ` = ${shown(i.value)}` : ''}` : ''}: ${i.note}\n`);
  const covered = byStatus('covered');
  if (covered.length > 0) {
    ctx.out('\nnothing needed here:\n');
    for (const i of covered) ctx.out(`  ${i.file}: ${i.note}\n`);
  }
  const not = byStatus('not-translated');
  if (not.length > 0) {
    ctx.out(`\nnot translated (${not.length}); what to do instead:\n`);
    for (const i of not) ctx.out(`  ${i.file}: ${i.note}\n`);
  }
  if (r.method === 'in-place')
    ctx.out(
      `\nthe util-vserver configuration ${dir} still names the old place of the tree: remove it, so that util-vserver never starts the guest too\n`,
    );
  return 0;
}
