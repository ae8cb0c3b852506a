// vserver remote add NAME URL [--token T] [--cert-fingerprint F] | list | remove NAME
import { addRemote, readRemotes, removeRemote } from '../remote/store.js';
import { VsError } from '../util/errors.js';
import { defaultRoot, Paths } from '../util/paths.js';
import { stringOpt, type CliContext } from './context.js';
import { table } from './format.js';

export async function run(ctx: CliContext): Promise<number> {
  const [action, name, url] = ctx.args.positionals;
  const paths = new Paths(typeof ctx.args.options.root === 'string' ? ctx.args.options.root : defaultRoot());
  if (action === 'add') {
    if (name === undefined || url === undefined)
      throw new VsError(
        'USAGE',
        "'remote add' needs NAME and URL",
        'for example: vserver remote add host1 https://host1:8443 --token T --cert-fingerprint F',
      );
    const token = stringOpt(ctx, 'token');
    const fp = stringOpt(ctx, 'cert-fingerprint');
    const cert = stringOpt(ctx, 'client-cert');
    const key = stringOpt(ctx, 'client-key');
    addRemote(paths, name, {
      url,
      ...(token ? { token } : {}),
      ...(fp ? { cert_fingerprint: fp } : {}),
      ...(cert ? { client_cert: cert } : {}),
      ...(key ? { client_key: key } : {}),
    });
    ctx.out(ctx.json ? `${JSON.stringify({ name, url, added: true })}\n` : `added remote ${name} (${url})\n`);
    return 0;
  }
  if (action === 'list') {
    if (name !== undefined) throw new VsError('USAGE', "'remote list' takes no argument", 'see vserver remote --help');
    const rows = Object.entries(readRemotes(paths)).map(([n, r]) => ({
      name: n,
      url: r.url,
      token: r.token !== undefined,
      cert_fingerprint: r.cert_fingerprint,
      client_cert: r.client_cert,
    }));
    ctx.out(
      ctx.json
        ? `${JSON.stringify(rows)}\n`
        : table(
            ['NAME', 'URL', 'TOKEN', 'CERTIFICATE'],
            rows.map((r) => [r.name, r.url, r.token ? 'yes' : 'no', r.cert_fingerprint ? `${r.cert_fingerprint.slice(0, 16)}...` : '-']),
          ),
    );
    return 0;
  }
  if (action === 'remove') {
    if (name === undefined || url !== undefined)
      throw new VsError('USAGE', "'remote remove' takes NAME", 'for example: vserver remote remove host1');
    removeRemote(paths, name);
    ctx.out(ctx.json ? `${JSON.stringify({ name, removed: true })}\n` : `removed remote ${name}\n`);
    return 0;
  }
  throw new VsError('USAGE', `unknown remote action '${action}'`, 'use add, list or remove');
}
