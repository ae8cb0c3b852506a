// The optional HTTPS listener: TLS 1.3 only, a key and certificate made on first start under the
// root's state dir, client certificates asked for (and judged by the authenticators).
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { apiDir, ensureApiDir } from '../engine/api-tokens.js';
import { VsError } from '../util/errors.js';
import type { Paths } from '../util/paths.js';
import { runOk } from '../util/proc.js';
import { markRemote } from './auth.js';

export interface ServerCert {
  key: Buffer;
  cert: Buffer;
  /** SHA-256 of the certificate, colon-separated, for `vserver remote add --cert-fingerprint`. */
  fingerprint: string;
}

/** host:port of [api] listen as its parts ("[::1]:8443" gives "::1"). */
export function splitListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(at + 1));
  if (!(Number.isInteger(port) && port >= 0 && port < 65536))
    throw new VsError('CONFIG_INVALID', `[api] listen = "${listen}": port ${port} is out of range`, 'give a port from 1 to 65535');
  return { host, port };
}

export function fingerprintOf(certPem: Buffer | string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** openssl's arguments for a new EC P-256 key and a self-signed certificate of it. */
export function selfSignedArgs(keyFile: string, certFile: string, o: { days: number; subject: string; san?: string[] }): string[] {
  return [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    String(o.days),
    '-subj',
    o.subject,
    ...(o.san ? ['-addext', `subjectAltName=${o.san.join(',')}`] : []),
  ];
}

/** The server's key and self-signed certificate (EC P-256, 10 years), made by openssl on first use. */
export async function serverCert(paths: Paths, host: string): Promise<ServerCert> {
  const dir = apiDir(paths);
  const keyFile = join(dir, 'server.key');
  const certFile = join(dir, 'server.crt');
  if (!existsSync(keyFile) || !existsSync(certFile)) {
    ensureApiDir(paths);
    const san = [
      'DNS:localhost',
      'IP:127.0.0.1',
      'IP:::1',
      ...(host && host !== 'localhost' && host !== '127.0.0.1' && host !== '::1' ? [isIP(host) ? `IP:${host}` : `DNS:${host}`] : []),
    ];
    const tmpKey = `${keyFile}.new`;
    const tmpCert = `${certFile}.new`;
    try {
      await runOk('openssl', selfSignedArgs(tmpKey, tmpCert, { days: 3650, subject: '/CN=vserverd', san }));
      chmodSync(tmpKey, 0o600);
      // the certificate last: a key without a certificate is made again
      renameSync(tmpKey, keyFile);
      renameSync(tmpCert, certFile);
    } finally {
      rmSync(tmpKey, { force: true });
      rmSync(tmpCert, { force: true });
    }
  }
  const cert = readFileSync(certFile);
  return { key: readFileSync(keyFile), cert, fingerprint: fingerprintOf(cert) };
}

/** Serves the app's routes on host:port over TLS 1.3; each connection is marked as remote for installAuth. */
export async function listenTls(app: FastifyInstance, listen: string, tls: ServerCert): Promise<Server> {
  const { host, port } = splitListen(listen);
  const server = createServer(
    { key: tls.key, cert: tls.cert, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: false },
    (req, res) => app.routing(req, res),
  );
  server.on('secureConnection', (s) => markRemote(s));
  // WebSocket upgrades (exec, events) go through the same routes, as remote requests
  server.on('upgrade', (req, socket, head) => app.server.emit('upgrade', req, socket, head));
  server.headersTimeout = 30_000;
  // a tarball upload may take longer than Node's default of 5 minutes
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(new VsError('ADDRESS_IN_USE', `cannot listen on ${listen}: ${e.message}`, 'change [api] listen in vserver.toml')),
    );
    server.listen(port, host, () => resolve());
  });
  return server;
}
