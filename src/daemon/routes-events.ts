// GET /1.0/events: lifecycle events as server-sent events, or one text frame each on a WebSocket.
// A listener that falls behind is dropped with the reason "overflow", never silently skipped.
import type { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/websocket';
import type { WebSocket } from 'ws';
import type { LifecycleEvent } from '../engine/events.js';
import { checkName } from '../guest/name.js';

export interface EventRouteOptions {
  /** Bytes queued for one listener before it is dropped. */
  backlogBytes?: number;
}

const query = { type: 'object', additionalProperties: false, properties: { guest: { type: 'string', maxLength: 200 } } } as const;

/** WebSocket close code for a listener dropped because it fell behind. */
export const CLOSE_OVERFLOW = 1013;

export function eventRoutes(app: FastifyInstance, events: EventEmitter, opts: EventRouteOptions = {}): void {
  const backlog = opts.backlogBytes ?? 1 << 20;
  // open streams end when the daemon stops, else closing would wait for their clients
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });
  /** Calls send for each event of the guest asked for (all without one); returns the unsubscribe. */
  const subscribe = (guest: string | undefined, send: (text: string) => void): (() => void) => {
    const on = (ev: LifecycleEvent) => {
      if (guest === undefined || ev.guest === guest) send(JSON.stringify(ev));
    };
    events.on('event', on);
    return () => events.off('event', on);
  };

  app.route<{ Querystring: { guest?: string } }>({
    method: 'GET',
    url: '/1.0/events',
    schema: { querystring: query },
    preValidation: async (req) => {
      if (req.query.guest !== undefined) checkName(req.query.guest);
    },
    handler: (req, reply) => {
      const res = reply.raw;
      reply.hijack();
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(': vserverd events\n\n');
      const stop = subscribe(req.query.guest, (text) => {
        if (res.writableLength > backlog) {
          stop();
          res.end(': overflow\n\n');
          return;
        }
        res.write(`data: ${text}\n\n`);
      });
      const end = () => res.end();
      open.add(end);
      res.on('close', () => {
        stop();
        open.delete(end);
      });
    },
    wsHandler: (socket: WebSocket, req) => {
      const stop = subscribe((req.query as { guest?: string }).guest, (text) => {
        if (socket.readyState !== socket.OPEN) return;
        if (socket.bufferedAmount > backlog) {
          stop();
          socket.close(CLOSE_OVERFLOW, 'overflow');
          // a client that reads nothing never completes the closing handshake
          setTimeout(() => socket.terminate(), 5000).unref();
          return;
        }
        socket.send(text);
      });
      socket.on('close', stop);
      socket.on('message', () => undefined);
    },
  });
}
