// Dashboard sessions: a one-time login token (minted over the Unix socket by `vserver dashboard`)
// becomes an HttpOnly, SameSite=Strict cookie; every state-changing request also carries the
// session's CSRF token in a header and a same-origin Origin.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import { VsError } from '../util/errors.js';
import { isRemote as onTcp, type Authenticator } from './auth.js';

export const COOKIE = 'vserver_session';
export const CSRF_HEADER = 'x-vserver-csrf';
const TOKEN_TTL_MS = 5 * 60_000;
const SESSION_IDLE_MS = 12 * 3600_000;
const MAX_TOKENS = 64;
const MAX_SESSIONS = 256;
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

interface Session {
  csrf: string;
  lastSeen: number;
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const sameText = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** Login tokens and sessions, kept by the hash of their secret, bounded in number and age. */
export class Sessions {
  private readonly tokens = new Map<string, number>();
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly now: () => number = Date.now) {}

  mintToken(): { token: string; expires: string } {
    this.prune();
    if (this.tokens.size >= MAX_TOKENS) this.tokens.delete(this.tokens.keys().next().value!);
    const token = randomBytes(24).toString('base64url');
    const expires = this.now() + TOKEN_TTL_MS;
    this.tokens.set(hash(token), expires);
    return { token, expires: new Date(expires).toISOString() };
  }

  /** Trades a token (once) for a new session: its id goes in the cookie, its csrf to the page. */
  login(token: string): { id: string; csrf: string } | undefined {
    this.prune();
    const key = hash(token);
    if (!this.tokens.has(key)) return undefined;
    this.tokens.delete(key);
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    this.sessions.set(hash(id), { csrf, lastSeen: this.now() });
    return { id, csrf };
  }

  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const s = this.sessions.get(hash(id));
    if (s === undefined || this.now() - s.lastSeen > SESSION_IDLE_MS) return undefined;
    s.lastSeen = this.now();
    return s;
  }

  logout(id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(hash(id));
  }

  private prune(): void {
    const now = this.now();
    for (const [k, exp] of this.tokens) if (exp < now) this.tokens.delete(k);
    for (const [k, s] of this.sessions) if (now - s.lastSeen > SESSION_IDLE_MS) this.sessions.delete(k);
  }
}

const secure = (req: FastifyRequest) => (req.raw.socket as TLSSocket).encrypted === true;

/** The request's own origin, as a browser would send it in Origin. */
function ownOrigin(req: FastifyRequest): string {
  return `${secure(req) ? 'https' : 'http'}://${req.headers.host ?? ''}`;
}

/** Refuses a request whose Origin is another site's (a missing Origin is refused too where `required`). */
function checkOrigin(req: FastifyRequest, required: boolean): void {
  const origin = req.headers.origin;
  if (origin === undefined ? required : origin !== ownOrigin(req)) {
    throw new VsError(
      'NOT_PERMITTED',
      `cross-site request refused (Origin ${origin ?? 'missing'})`,
      'use the dashboard from the address vserver dashboard printed',
    );
  }
}

/** The session cookie as an authenticator; state-changing requests need the CSRF header and our Origin. */
export function sessionAuthenticator(sessions: Sessions): Authenticator {
  return async (req) => {
    const s = sessions.get(cookieValue(req.headers.cookie, COOKIE));
    if (s === undefined) return undefined;
    const upgrade = req.headers.upgrade !== undefined;
    if (!SAFE.has(req.method) || upgrade) {
      checkOrigin(req, !upgrade);
      if (!upgrade) {
        const sent = req.headers[CSRF_HEADER];
        if (typeof sent !== 'string' || !sameText(sent, s.csrf)) {
          throw new VsError(
            'NOT_PERMITTED',
            `a ${req.method} from the dashboard needs the session's ${CSRF_HEADER} header`,
            'reload the dashboard page',
          );
        }
      }
    }
    return 'dashboard-session';
  };
}

/** What a request on the TCP listener may do without authenticating: the page itself, and logging in. */
function open(req: FastifyRequest): boolean {
  const path = req.url.split('?')[0]!;
  if (req.method === 'POST' && path === '/1.0/dashboard/login') return true;
  return SAFE.has(req.method) && (path === '/' || path === '/dashboard' || path.startsWith('/dashboard/'));
}

/** The page itself and logging in need no credentials on a TCP listener; everything else does. */
export const publicPages: Authenticator = async (req) => (open(req) ? 'public' : undefined);

function setCookie(reply: FastifyReply, req: FastifyRequest, value: string, maxAgeS: number): void {
  void reply.header(
    'set-cookie',
    `${COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure(req) ? '; Secure' : ''}`,
  );
}

/** Login token minting (Unix socket only), login, the current session, logout. */
export function sessionRoutes(app: FastifyInstance, sessions: Sessions, publicUrl: () => string | undefined): void {
  app.post('/1.0/dashboard/tokens', async (req, reply) => {
    if (onTcp(req)) throw new VsError('NOT_PERMITTED', 'login tokens are made on the host only', 'run `vserver dashboard` on the host');
    const url = publicUrl();
    if (url === undefined) {
      throw new VsError(
        'UNSUPPORTED',
        'vserverd serves no TCP listener, so a browser cannot reach the dashboard',
        'start vserverd with --listen 127.0.0.1:8443 (reach it from elsewhere through an SSH tunnel)',
      );
    }
    const t = sessions.mintToken();
    return reply.status(201).send({ ...t, url: `${url}/dashboard/#token=${t.token}` });
  });

  app.post<{ Body: { token: string } }>(
    '/1.0/dashboard/login',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['token'],
          properties: { token: { type: 'string', maxLength: 200 } },
        },
      },
    },
    async (req, reply) => {
      checkOrigin(req, false);
      const s = sessions.login(req.body.token);
      if (s === undefined) {
        throw new VsError(
          'UNAUTHORIZED',
          'this login link was already used or has expired',
          'run `vserver dashboard` on the host for a new link',
        );
      }
      setCookie(reply, req, s.id, SESSION_IDLE_MS / 1000);
      return { csrf: s.csrf };
    },
  );

  app.get('/1.0/dashboard/session', async (req) => {
    const s = sessions.get(cookieValue(req.headers.cookie, COOKIE));
    if (s === undefined)
      throw new VsError('UNAUTHORIZED', 'no dashboard session', 'run `vserver dashboard` on the host and open the link it prints');
    return { csrf: s.csrf };
  });

  app.delete('/1.0/dashboard/session', async (req, reply) => {
    sessions.logout(cookieValue(req.headers.cookie, COOKIE));
    setCookie(reply, req, '', 0);
    return reply.status(204).send();
  });
}
