// vserverd's HTTP API: the engine's use cases, one route each, under /1.0. The same engine the CLI
// calls; nothing here keeps state that the files and the runtime do not.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Engine } from '../engine/index.js';
import { VERSION } from '../version.js';
import { wireJson } from '../wire/json.js';
import { errorHandler } from './errors.js';
import { metricsRegistry, requestCounter } from './metrics.js';
import { guestRoutes } from './routes-guests.js';
import { hostRoutes } from './routes-host.js';
import { configRoutes } from './routes-config.js';
import type { EventEmitter } from 'node:events';
import websocket from '@fastify/websocket';
import { eventRoutes } from './routes-events.js';
import { execRoutes } from './routes-exec.js';
import { migrateRoutes } from './routes-migrate.js';
import { logRoutes } from './routes-log.js';
import { defaultAuthenticators, installAuth, type Authenticator } from './auth.js';
import { Operations } from './operations.js';
import { buildRoutes } from './routes-build.js';
import { openApiRoute } from './openapi.js';
import { installDashboard, type DashboardOptions } from './dashboard.js';
import { publicPages, sessionAuthenticator, Sessions } from './session.js';
import { History, startSampling } from './history.js';
import { historyRoutes } from './routes-history.js';
import { hostViewRoutes } from './routes-host-view.js';
import { GuestList } from './guest-list.js';
import { TRACE_ON, traceMark } from '../util/trace.js';

export interface ServerOptions {
  /** Largest request body in bytes ([api] body_limit in vserver.toml). */
  bodyLimit?: number;
  /** What GET /1.0/events streams: the daemon's tracker; by default only the engine's own events. */
  events?: EventEmitter;
  /** Bytes queued for one event listener before it is dropped. */
  eventBacklogBytes?: number;
  /** The pty-relay program for interactive exec (default: dist/pty-relay). */
  ptyRelay?: () => string;
  /** Who may use the TCP listener besides bearer tokens and trusted client certificates. */
  authenticators?: Authenticator[];
  /** Largest tarball upload in bytes ([api] upload_limit). */
  uploadLimit?: number;
  /** The dashboard's files and the TCP listener's URL. */
  dashboard?: DashboardOptions;
}

export function buildServer(engine: Engine, opts: ServerOptions = {}): FastifyInstance {
  const app = Fastify({
    bodyLimit: opts.bodyLimit ?? 1 << 20,
    logger: false,
    return503OnClosing: true,
    // unknown fields and wrong types are refused, never dropped or converted
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  if (TRACE_ON) {
    // when a request arrived and when its answer went, beside the steps it ran
    app.addHook('onRequest', async (req) => traceMark(`http ${req.method} ${req.url.split('?')[0]}: received`));
    app.addHook('onResponse', async (req) => traceMark(`http ${req.method} ${req.url.split('?')[0]}: answered`));
  }
  app.setErrorHandler(errorHandler);
  // no limit is Infinity, which JSON has not: "max", as the CLI's --json prints it
  app.setReplySerializer(wireJson);
  const sessions = new Sessions();
  installAuth(app, [...defaultAuthenticators(engine), publicPages, sessionAuthenticator(sessions), ...(opts.authenticators ?? [])]);
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .send({ error: `no such route: ${req.method} ${req.url.split('?')[0]}`, code: 'NOT_FOUND', hint: 'the API lives under /1.0' });
  });
  openApiRoute(app, engine);
  app.get('/1.0', async () => ({ api: '1.0', version: VERSION }));
  app.get('/1.0/host', async () => ({ version: VERSION, root: engine.deps.paths.root, runtime: (await engine.deps.runtime()).name }));
  // the list a long-running daemon keeps, current through the same events GET /1.0/events streams
  const guests = new GuestList(engine, opts.events ?? engine.events);
  app.addHook('onClose', async () => guests.close());
  guestRoutes(app, engine, guests);
  hostRoutes(app, engine);
  configRoutes(app, engine);
  logRoutes(app, engine);
  void app.register(websocket, { options: { maxPayload: 1 << 20 } });
  void app.register(async (ws) => {
    eventRoutes(ws, opts.events ?? engine.events, { backlogBytes: opts.eventBacklogBytes });
    execRoutes(ws, engine, opts.ptyRelay);
    migrateRoutes(ws, engine);
  });
  const operations = new Operations();
  app.addHook('onClose', () => operations.cancelAll());
  buildRoutes(app, engine, operations, opts.uploadLimit ?? 8 * 2 ** 30);
  installDashboard(app, sessions, opts.dashboard);
  const history = new History();
  app.addHook('onClose', async () => stopSampling());
  const stopSampling = startSampling(() => engine.metrics(), history);
  historyRoutes(app, engine, history);
  hostViewRoutes(app, engine, guests);
  const registry = metricsRegistry(engine);
  const requests = requestCounter(registry);
  app.addHook('onResponse', async (req, reply) => {
    requests.inc({ method: req.method, status: String(reply.statusCode) });
  });
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  return app;
}
