// vserver ps [NAME] [ps options]: ps with a CONTEXT column (context and guest, MAIN for the host), as vps.
import type { CliContext } from './context.js';

export async function run(ctx: CliContext): Promise<number> {
  const engine = ctx.engine();
  const [first] = ctx.args.positionals;
  let psArgs = ctx.args.rest;
  let only: string | undefined;
  if (first !== undefined) {
    // `vserver ps aux` as with vps: a word that names no guest is an option for ps
    if (engine.deps.store.names().includes(first)) only = first;
    else psArgs = [first, ...psArgs];
  }
  const table = await engine.ps(psArgs, only);
  if (ctx.json) {
    ctx.out(`${JSON.stringify(table.rows.map(({ pid, context, name, fields }) => ({ pid, context, name, ...fields })))}\n`);
    return 0;
  }
  ctx.out(`${[table.header, ...table.rows.map((r) => r.line)].join('\n')}\n`);
  return 0;
}
