// vserver build NAME [--template T] [--context N] [--hostname H] [--init STYLE] [-- CMD...]
import { INIT_STYLES } from '../guest/schema.js';
import { VsError } from '../util/errors.js';
import { intOpt, nameArg, stringOpt, type CliContext } from './context.js';
import { printInfo } from './show.js';

export async function run(ctx: CliContext): Promise<number> {
  const init = stringOpt(ctx, 'init');
  if (init !== undefined && !(INIT_STYLES as readonly string[]).includes(init)) {
    throw new VsError('USAGE', `unknown init style '${init}'`, `use one of: ${INIT_STYLES.join(', ')}`);
  }
  if (init === 'cmd' && ctx.args.rest.length === 0) {
    throw new VsError('USAGE', '--init cmd needs the command after --', 'for example: vserver build job1 --init cmd -- /bin/sh -c "sleep 1000"');
  }
  const info = await ctx.engine().build(nameArg(ctx), {
    template: stringOpt(ctx, 'template'),
    context: intOpt(ctx, 'context'),
    hostname: stringOpt(ctx, 'hostname'),
    init: init as (typeof INIT_STYLES)[number] | undefined,
    cmd: ctx.args.rest.length > 0 ? ctx.args.rest : undefined,
    privileged: ctx.args.options.privileged === true,
  });
  if (ctx.json) ctx.out(`${JSON.stringify(info)}\n`);
  else {
    ctx.out(`built guest ${info.name} (context ${info.context})\n`);
    printInfo(ctx, info, false);
  }
  return 0;
}
