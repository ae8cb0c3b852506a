// Requests to a vserverd: over its Unix socket, or over TLS 1.3 to [api] listen, where the daemon's
// certificate is pinned by fingerprint before a byte (or the token) is sent.
import { readFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { connect, type TLSSocket } from 'node:tls';
import { normalFingerprint } from '../guest/api-schema.js';
import { ERROR_CODES, VsError, type ErrorCode } from '../util/errors.js';
import { reviveJson } from '../wire/json.js';
import type { Remote } from './store.js';

/** A VsError from an error body; a status without one becomes an error that says so. */
export function errorFrom(status: number, body: unknown, where: string): VsError {
  const b = body as { error?: unknown; code?: unknown; hint?: unknown } | undefined;
  if (b && typeof b.error === 'string' && typeof b.code === 'string' && b.code in ERROR_CODES) {
    return new VsError(b.code as ErrorCode, b.error, typeof b.hint === 'string' ? b.hint : undefined);
  }
  return new VsError('INTERNAL', `${where} answered HTTP ${status}`, 'check that it is a vserverd of the same version');
}

export class ApiClient {
  constructor(readonly remote: Remote) {}

  get where(): string {
    return this.remote.url;
  }

  /** A connected socket to the daemon; over TLS, only once its certificate is the pinned one. */
  connect(): Promise<Socket> {
    const u = this.remote.url;
    if (u.startsWith('unix:')) {
      return new Promise((resolve, reject) => {
        const s = netConnect(u.slice(5));
        s.once('connect', () => resolve(s));
        s.once('error', (e) =>
          reject(
            new VsError('NOT_FOUND', `cannot reach vserverd at ${u}: ${e.message}`, 'is vserverd running? (systemctl start vserverd)'),
          ),
        );
      });
    }
    const url = new URL(u);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const pin = this.remote.cert_fingerprint && normalFingerprint(this.remote.cert_fingerprint);
    return new Promise<TLSSocket>((resolve, reject) => {
      const s = connect({
        host,
        port: Number(url.port || 443),
        servername: isIP(host) ? undefined : host,
        minVersion: 'TLSv1.3',
        // a pinned certificate is checked below, by fingerprint; without a pin, the usual CA checks apply
        rejectUnauthorized: pin === undefined,
        ...(this.remote.client_cert
          ? { cert: readFileSync(this.remote.client_cert), key: readFileSync(this.remote.client_key ?? this.remote.client_cert) }
          : {}),
      });
      s.once('secureConnect', () => {
        const got = normalFingerprint(s.getPeerCertificate().fingerprint256 ?? '');
        if (pin !== undefined && got !== pin) {
          s.destroy();
          reject(
            new VsError(
              'NOT_PERMITTED',
              `the daemon at ${u} shows certificate ${got}, not the pinned ${pin}`,
              'if the daemon made a new certificate, check its fingerprint on that host and add the remote again',
            ),
          );
        } else resolve(s);
      });
      s.once('error', (e) =>
        reject(
          new VsError(
            'NOT_FOUND',
            `cannot reach vserverd at ${u}: ${e.message}`,
            pin === undefined && /self.signed|certificate/i.test(e.message)
              ? "pin the daemon's certificate: vserver remote add NAME URL --cert-fingerprint F"
              : 'check the address and that [api] listen is set there',
          ),
        ),
      );
    });
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.remote.token ? { authorization: `Bearer ${this.remote.token}` } : {}), ...extra };
  }

  /** One request; a 4xx/5xx becomes the daemon's VsError, a 204 gives undefined. */
  async call<T>(
    method: string,
    path: string,
    body?: unknown,
    extra?: { stream?: Readable; contentType?: string; headers?: Record<string, string> },
  ): Promise<T> {
    const socket = await this.connect();
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const json = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          createConnection: () => socket,
          method,
          path,
          host: 'vserverd',
          headers: this.headers({
            ...extra?.headers,
            ...(json !== undefined
              ? { 'content-type': 'application/json' }
              : extra?.stream
                ? { 'content-type': extra.contentType ?? 'application/octet-stream' }
                : {}),
          }),
        },
        resolve,
      );
      req.once('error', (e) =>
        reject(new VsError('NETWORK_FAILED', `request to ${this.where} failed: ${e.message}`, 'is the daemon still running?')),
      );
      if (extra?.stream) {
        extra.stream.once('error', (e) => req.destroy(e));
        extra.stream.pipe(req);
      } else req.end(json);
    });
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    socket.destroy();
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : reviveJson(text);
    } catch {
      parsed = text;
    }
    if ((res.statusCode ?? 500) >= 400) throw errorFrom(res.statusCode ?? 500, parsed, this.where);
    return parsed as T;
  }
}
