// Who may use the API. The Unix socket is trusted (its mode makes it as strong as root); a request
// on the TCP/TLS listener needs one authenticator to name its identity, else 401.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { apiConfig, normalFingerprint } from '../guest/api-schema.js';
import type { Engine } from '../engine/index.js';
import { tokenChecker } from '../engine/api-tokens.js';
import { VsError } from '../util/errors.js';
import { errorBody } from './errors.js';

/** Returns the identity the request proves, or undefined. */
export type Authenticator = (req: FastifyRequest) => Promise<string | undefined>;

declare module 'fastify' {
  interface FastifyRequest {
    /** 'local' on the Unix socket, else what the authenticator that accepted it said. */
    identity: string | undefined;
  }
}

/** Sockets of the TCP/TLS listener; every other request came in on the Unix socket (or in process). */
const remoteSockets = new WeakSet<Socket>();

export function markRemote(socket: Socket): void {
  remoteSockets.add(socket);
}

export const isRemote = (req: FastifyRequest): boolean => remoteSockets.has(req.raw.socket);

export function installAuth(
  app: FastifyInstance,
  authenticators: Authenticator[],
  remote: (req: FastifyRequest) => boolean = isRemote,
): void {
  app.decorateRequest('identity', undefined);
  app.addHook('onRequest', async (req, reply) => {
    if (!remote(req)) {
      req.identity = 'local';
      return;
    }
    for (const a of authenticators) {
      const who = await a(req);
      if (who !== undefined) {
        req.identity = who;
        return;
      }
    }
    const e = new VsError(
      'UNAUTHORIZED',
      'this request carries no credentials the daemon accepts',
      "send 'Authorization: Bearer TOKEN' (vserver token create) or a client certificate listed in [api] trusted_certs; in a browser, open the link `vserver dashboard` prints",
    );
    return reply.status(401).header('www-authenticate', 'Bearer realm="vserverd"').send(errorBody(e));
  });
}

/** Authorization: Bearer TOKEN, checked against the hashes vserver token keeps. */
export function bearerAuthenticator(engine: Engine): Authenticator {
  const check = tokenChecker(engine.deps.paths);
  return async (req) => {
    const m = /^Bearer ([A-Za-z0-9_.~+/=-]{1,200})$/.exec(req.headers.authorization ?? '');
    return m ? check(m[1]!) : undefined;
  };
}

/** A client certificate whose SHA-256 fingerprint [api] trusted_certs lists (TLS proved the key). */
export function certAuthenticator(engine: Engine): Authenticator {
  return async (req) => {
    const sock = req.raw.socket as TLSSocket;
    if (typeof sock.getPeerCertificate !== 'function') return undefined;
    const cert = sock.getPeerCertificate();
    if (!cert?.fingerprint256) return undefined;
    const fp = normalFingerprint(cert.fingerprint256);
    const trusted = apiConfig(engine.deps.host().api).trusted_certs.map(normalFingerprint);
    return trusted.includes(fp) ? `cert:${fp.slice(0, 16)}` : undefined;
  };
}

/** The authenticators the daemon always has; others (a dashboard session) are added to the list. */
export function defaultAuthenticators(engine: Engine): Authenticator[] {
  return [bearerAuthenticator(engine), certAuthenticator(engine)];
}
