// vserver migrate NAME ssh://root@HOST[:PORT] | REMOTE [--keep] [--ssh-option OPT]... [--remote-vserver PATH]: move a guest to another host.
import { readRemotes } from '../remote/store.js';
import { VsError } from '../util/errors.js';
import { defaultRoot, Paths } from '../util/paths.js';
import { nameArg, stringOpt, type CliContext } from './context.js';

/**
 * A DEST that is not ssh:// names a remote (or is a daemon's https:// URL): the command through
 * which the migration reaches that daemon, this CLI's own __relay.
 */
function relayTo(ctx: CliContext, dest: string): string[] | undefined {
  if (dest.startsWith('ssh://')) return undefined;
  const root = typeof ctx.args.options.root === 'string' ? ctx.args.options.root : defaultRoot();
  const known = readRemotes(new Paths(root));
  if (!dest.startsWith('https://') && !known[dest]?.url.startsWith('https://')) {
    const names = Object.keys(known).filter((n) => known[n]!.url.startsWith('https://'));
    throw new VsError(
      'NOT_FOUND',
      known[dest]
        ? `remote '${dest}' is ${known[dest]!.url}, this host's own daemon, not another host`
        : `'${dest}' is not a migration target: no remote of that name${names.length > 0 ? ` (remotes: ${names.join(', ')})` : ''}`,
      `give ssh://root@HOST[:PORT], or add the target's daemon first: vserver token create (on the target), then here ` +
        `'vserver remote add ${/^[a-z0-9][a-z0-9_-]*$/.test(dest) ? dest : 'NAME'} https://HOST:PORT --token TOKEN --cert-fingerprint SHA256'`,
    );
  }
  if (ctx.args.options['ssh-option'] !== undefined || ctx.args.options['remote-vserver'] !== undefined)
    throw new VsError('USAGE', '--ssh-option and --remote-vserver are for an ssh:// target', `migrate to remote '${dest}' without them`);
  return [process.execPath, process.argv[1]!, '__relay', root, dest];
}

export async function run(ctx: CliContext): Promise<number> {
  const name = nameArg(ctx);
  const dest = ctx.args.positionals[1]!;
  const sshOptions = ((ctx.args.options['ssh-option'] as string[] | undefined) ?? []).map(String);
  const relay = relayTo(ctx, dest);
  const r = await ctx.engine().migrate(name, dest, {
    ...(relay ? { relay } : {}),
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
