// vserverd's HTTP API: the engine's use cases, one route each, under /1.0. The same engine the CLI
// calls; nothing here keeps state that the files and the runtime do not.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Engine } from '../engine/index.js';
import { VERSION } from '../version.js';
import { errorHandler } from './errors.js';
import { metricsRegistry, requestCounter } from './metrics.js';
import { guestRoutes } from './routes-guests.js';
import { hostRoutes } from './routes-host.js';
import { configRoutes } from './routes-config.js';

export interface ServerOptions {
  /** Largest request body in bytes ([api] body_limit in vserver.toml). */
  bodyLimit?: number;
}

export function buildServer(engine: Engine, opts: ServerOptions = {}): FastifyInstance {
  const app = Fastify({
    bodyLimit: opts.bodyLimit ?? 1 << 20, logger: false, return503OnClosing: true,
    // unknown fields and wrong types are refused, never dropped or converted
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: `no such route: ${req.method} ${req.url.split('?')[0]}`, code: 'NOT_FOUND', hint: 'the API lives under /1.0' });
  });
  app.get('/1.0', async () => ({ api: '1.0', version: VERSION }));
  app.get('/1.0/host', async () => ({ version: VERSION, root: engine.deps.paths.root, runtime: (await engine.deps.runtime()).name }));
  guestRoutes(app, engine);
  hostRoutes(app, engine);
  configRoutes(app, engine);
  const registry = metricsRegistry(engine);
  const requests = requestCounter(registry);
  app.addHook('onResponse', async (req, reply) => { requests.inc({ method: req.method, status: String(reply.statusCode) }); });
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  return app;
}
