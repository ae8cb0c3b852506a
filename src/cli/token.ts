// vserver token create [--name N] | list | revoke ID: bearer tokens for vserverd's HTTPS listener.
import { createToken, readTokens, revokeToken } from '../engine/api-tokens.js';
import { VsError } from '../util/errors.js';
import { defaultRoot, Paths } from '../util/paths.js';
import { stringOpt, type CliContext } from './context.js';
import { table } from './format.js';

export async function run(ctx: CliContext): Promise<number> {
  const [action, which] = ctx.args.positionals;
  const paths = new Paths(typeof ctx.args.options.root === 'string' ? ctx.args.options.root : defaultRoot());
  const only = (n: number) => {
    if (ctx.args.positionals.length > n)
      throw new VsError('USAGE', `'token ${action}' takes ${n === 1 ? 'no argument' : 'one argument'}`, 'see vserver token --help');
  };
  if (action === 'create') {
    only(1);
    const { token, record } = await createToken(paths, stringOpt(ctx, 'name'));
    if (ctx.json) ctx.out(`${JSON.stringify({ ...record, sha256: undefined, token })}\n`);
    else {
      ctx.out(`${token}\n`);
      ctx.err(`vserver: token '${record.name}' (id ${record.id}) made; it is shown this once, only its hash is kept\n`);
    }
    return 0;
  }
  if (action === 'list') {
    only(1);
    const list = readTokens(paths).map(({ id, name, created }) => ({ id, name, created }));
    ctx.out(
      ctx.json
        ? `${JSON.stringify(list)}\n`
        : table(
            ['ID', 'NAME', 'CREATED'],
            list.map((t) => [t.id, t.name, t.created]),
          ),
    );
    return 0;
  }
  if (action === 'revoke') {
    if (which === undefined) throw new VsError('USAGE', "'token revoke' needs the token's id or name", "'vserver token list' shows them");
    only(2);
    const r = await revokeToken(paths, which);
    ctx.out(ctx.json ? `${JSON.stringify({ id: r.id, name: r.name, revoked: true })}\n` : `revoked token ${r.name} (id ${r.id})\n`);
    return 0;
  }
  throw new VsError('USAGE', `unknown token action '${action}'`, 'use create, list or revoke');
}
