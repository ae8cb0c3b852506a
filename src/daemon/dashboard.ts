// The dashboard's files, built into dist/dashboard/, served under /dashboard/ from memory (gzip
// where the browser takes it). The page talks only to the public API.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { VsError } from '../util/errors.js';
import { sessionRoutes, type Sessions } from './session.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

// everything from our own origin; no inline script, no frames around it
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

interface File {
  body: Buffer;
  gzip?: Buffer;
  type: string;
}

/** The built files by name; none when the package was built without the dashboard. */
export function loadFiles(dir: string): Map<string, File> {
  const files = new Map<string, File>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir)) {
    const ext = extname(name);
    if (ext === '.gz' || TYPES[ext] === undefined) continue;
    const gz = join(dir, `${name}.gz`);
    files.set(name, { body: readFileSync(join(dir, name)), type: TYPES[ext], ...(existsSync(gz) ? { gzip: readFileSync(gz) } : {}) });
  }
  return files;
}

export interface DashboardOptions {
  /** Where the built files are (default: dashboard/ beside the daemon's bundle). */
  dir?: string;
  /** The TCP listener's base URL, once it listens. */
  publicUrl?: () => string | undefined;
}

export function installDashboard(app: FastifyInstance, sessions: Sessions, opts: DashboardOptions = {}): Sessions {
  const files = loadFiles(opts.dir ?? join(__dirname, 'dashboard'));
  sessionRoutes(app, sessions, opts.publicUrl ?? (() => undefined));

  app.get('/', async (_req, reply) => reply.redirect('/dashboard/'));
  app.get('/dashboard', async (_req, reply) => reply.redirect('/dashboard/'));
  app.get<{ Params: { '*': string } }>('/dashboard/*', async (req, reply) => {
    const name = req.params['*'] === '' ? 'index.html' : req.params['*'];
    const f = files.get(name);
    if (f === undefined) {
      throw files.size === 0
        ? new VsError('NOT_FOUND', 'this vserverd was built without the dashboard', 'run npm run build, which puts it in dist/dashboard/')
        : new VsError('NOT_FOUND', `no dashboard file ${name}`, 'open /dashboard/');
    }
    const gzip = f.gzip !== undefined && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    void reply
      .type(f.type)
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('vary', 'accept-encoding')
      // the page names its scripts with a content hash, so those may be kept; the page itself never
      .header('cache-control', name === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable');
    if (gzip) void reply.header('content-encoding', 'gzip');
    return reply.send(gzip ? f.gzip : f.body);
  });
  return sessions;
}
