// vserver template create NAME --debootstrap SUITE | --from-guest G | --tarball F;  template list;  template delete NAME
import type { TemplateSource } from '../engine/index.js';
import { INIT_STYLES, type InitStyle } from '../guest/schema.js';
import { VsError } from '../util/errors.js';
import { sourceOf } from './build.js';
import { stringOpt, type CliContext } from './context.js';
import { table } from './format.js';
import { progressPrinter } from './progress.js';

export async function run(ctx: CliContext): Promise<number> {
  const [action, name] = ctx.args.positionals;
  const engine = ctx.engine();
  const needName = () => {
    if (name === undefined) throw new VsError('USAGE', `'template ${action}' needs NAME`, `for example: vserver template ${action} deb12`);
    return name;
  };
  switch (action) {
    case 'list': {
      const all = await engine.templateList();
      if (ctx.json) ctx.out(`${JSON.stringify(all)}\n`);
      else {
        ctx.out(
          table(
            ['NAME', 'CONTEXT', 'SOURCE', 'FROM', 'INIT', 'GUESTS'],
            all.map((t) => [
              t.name,
              t.context ?? '-',
              t.source ?? '-',
              t.from ?? '-',
              t.init ?? '-',
              t.guests.length === 0 ? '-' : t.guests.join(','),
            ]),
          ),
        );
      }
      return 0;
    }
    case 'delete':
      await engine.templateDelete(needName());
      ctx.out(ctx.json ? `${JSON.stringify({ name, deleted: true })}\n` : `deleted template ${name}\n`);
      return 0;
    case 'create': {
      const n = needName();
      const guest = stringOpt(ctx, 'from-guest');
      const other = sourceOf(ctx, ['debootstrap', 'tarball']);
      if ((guest !== undefined) === (other !== undefined) && !(guest === undefined && other === undefined)) {
        throw new VsError(
          'USAGE',
          'give one source: --debootstrap SUITE, --from-guest GUEST or --tarball FILE',
          'a template comes from one place',
        );
      }
      let source: TemplateSource;
      if (guest !== undefined) source = { kind: 'guest', guest };
      else if (other?.kind === 'debootstrap' || other?.kind === 'tarball') source = other;
      else
        throw new VsError(
          'USAGE',
          'template create needs a source: --debootstrap SUITE, --from-guest GUEST or --tarball FILE',
          `for example: vserver template create ${n} --debootstrap bookworm`,
        );
      const init = stringOpt(ctx, 'init');
      if (init !== undefined && !(INIT_STYLES as readonly string[]).includes(init)) {
        throw new VsError('USAGE', `unknown init style '${init}'`, `use one of: ${INIT_STYLES.join(', ')}`);
      }
      const progress = progressPrinter(ctx);
      let t;
      try {
        t = await engine.templateCreate(n, source, { init: init as InitStyle | undefined, onProgress: progress.update });
      } finally {
        progress.done();
      }
      ctx.out(ctx.json ? `${JSON.stringify(t)}\n` : `made template ${t.name} (context ${t.context}, from ${t.source} ${t.from})\n`);
      return 0;
    }
    default:
      throw new VsError('USAGE', `unknown template action '${action ?? ''}'`, 'use create, list or delete');
  }
}
