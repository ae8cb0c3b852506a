// The daemon's TCP listener: the same routes as the Unix socket, but every request there must
// authenticate. Plain HTTP is allowed on loopback only, where nothing can listen in between.
import { createServer, type Server } from 'node:http';
import { isIP, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { VsError } from '../util/errors.js';
import { markRemote } from './auth.js';

/** HOST:PORT or [V6]:PORT, on a loopback address. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+|localhost)):(\d{1,5})$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !(port >= 0 && port <= 65535)) {
    throw new VsError('USAGE', `bad listen address '${text}'`, 'give HOST:PORT, for example 127.0.0.1:8443 or [::1]:8443');
  }
  const loopback = host === 'localhost' || (isIP(host) === 4 ? host.startsWith('127.') : host === '::1');
  if (!loopback) {
    throw new VsError(
      'USAGE',
      `plain HTTP on ${host} could be read on the network`,
      'listen on a loopback address (127.0.0.1 or ::1) and reach it through an SSH tunnel',
    );
  }
  return { host, port };
}

/** Serves the app's routes on HOST:PORT too; resolves with the server and its URL once it listens. */
export async function listenTcp(app: FastifyInstance, host: string, port: number): Promise<{ server: Server; url: string }> {
  await app.ready();
  const server = createServer();
  server.on('connection', (s: Socket) => markRemote(s));
  server.on('request', (req, res) => app.server.emit('request', req, res));
  server.on('upgrade', (req, socket, head) => app.server.emit('upgrade', req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr !== null ? addr.port : port;
  return { server, url: `http://${isIP(host) === 6 ? `[${host}]` : host}:${bound}` };
}
