// vserver dashboard: asks the running vserverd (over its Unix socket) for a one-time login link.
// It opens no port of its own.
import { request } from 'node:http';
import { join } from 'node:path';
import { ERROR_CODES, errnoOf, VsError, type ErrorCode } from '../util/errors.js';
import type { CliContext } from './context.js';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

function post(socketPath: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: 'POST', path, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        } catch {
          reject(
            new VsError(
              'INTERNAL',
              `vserverd answered ${res.statusCode} with something that is not JSON`,
              'check that the socket belongs to vserverd',
            ),
          );
        }
      });
    });
    req.on('timeout', () =>
      req.destroy(new VsError('BUSY', 'vserverd did not answer within 10 s', 'check that it runs: systemctl status vserverd')),
    );
    req.on('error', reject);
    req.end();
  });
}

export async function run(ctx: CliContext): Promise<number> {
  const sock = join(ctx.engine().deps.paths.run, 'vserverd.sock');
  let r: Answer;
  try {
    r = await post(sock, '/1.0/dashboard/tokens');
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'ENOENT' || errno === 'ECONNREFUSED') {
      throw new VsError(
        'NOT_RUNNING',
        `vserverd does not run (nothing answers on ${sock})`,
        'start it: vserverd --foreground --listen 127.0.0.1:8443, or systemctl start vserverd',
      );
    }
    if (errno === 'EACCES') throw new VsError('NOT_PERMITTED', `no access to ${sock}`, 'run as root or as a member of the group vserver');
    throw e;
  }
  if (r.status !== 201) {
    const code: ErrorCode = typeof r.body.code === 'string' && r.body.code in ERROR_CODES ? (r.body.code as ErrorCode) : 'INTERNAL';
    throw new VsError(
      code,
      String(r.body.error ?? `vserverd answered ${r.status}`),
      typeof r.body.hint === 'string' ? r.body.hint : undefined,
    );
  }
  if (ctx.json) ctx.out(`${JSON.stringify(r.body)}\n`);
  else ctx.out(`${String(r.body.url)}\n  (one login, within 5 minutes; the session then lasts while it is used at least every 12 hours)\n`);
  return 0;
}
