// vserver ps [NAME] [ps options]: ps with a CONTEXT column (context and guest, MAIN for the host), as vps.
import type { CliContext } from './context.js';

export async function run(ctx: CliContext): Promise<number> {
  const table = await ctx.engine().ps(ctx.args.rest, ctx.args.positionals[0]);
  if (ctx.json) {
    ctx.out(`${JSON.stringify(table.rows.map(({ pid, context, name, fields }) => ({ pid, context, name, ...fields })))}\n`);
    return 0;
  }
  ctx.out(`${[table.header, ...table.rows.map((r) => r.line)].join('\n')}\n`);
  return 0;
}
