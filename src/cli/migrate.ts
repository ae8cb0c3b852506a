// vserver migrate NAME ssh://root@HOST[:PORT] [--keep] [--ssh-option OPT]... [--remote-vserver PATH]: move a guest to another host.
import { nameArg, stringOpt, type CliContext } from './context.js';

export async function run(ctx: CliContext): Promise<number> {
  const name = nameArg(ctx);
  const dest = ctx.args.positionals[1]!;
  const sshOptions = ((ctx.args.options['ssh-option'] as string[] | undefined) ?? []).map(String);
  const r = await ctx.engine().migrate(name, dest, {
    sshOptions,
    remoteVserver: stringOpt(ctx, 'remote-vserver'),
    keep: ctx.args.options.keep === true,
    // on stderr also with --json: the rounds as they go are for whoever watches
    onProgress: (line) => ctx.err(`${line}\n`),
  });
  if (ctx.json) {
    ctx.out(`${JSON.stringify(r)}\n`);
    return 0;
  }
  ctx.out(`migrated guest ${name} to ${r.dest} (context ${r.context} there)\n`);
  for (const n of r.notes) ctx.out(`  note       ${n}\n`);
  ctx.out(
    `  pre-copy   ${r.rounds.length} round${r.rounds.length === 1 ? '' : 's'}, ${r.precopySeconds} s (${r.rounds.map((x) => x.changed).join(', ')} entries)\n`,
  );
  ctx.out(
    r.downtimeSeconds === undefined
      ? '  downtime   none: the guest was stopped, and stays stopped there\n'
      : `  downtime   ${r.downtimeSeconds} s (frozen here to running there; processes restarted, memory is not carried)\n`,
  );
  ctx.out(`  total      ${r.totalSeconds} s\n`);
  ctx.out(`  source     ${r.kept ? `kept here, stopped ('vserver delete ${name}' removes it)` : 'removed'}\n`);
  return 0;
}
