// GET /1.0/guests/NAME/history and /1.0/history: the bounded in-memory history the dashboard charts.
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../engine/index.js';
import { checkName } from '../guest/name.js';
import type { HistoryRange } from '../wire/history.js';
import { TIERS, type History } from './history.js';

const rangeQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { range: { type: 'string', enum: Object.keys(TIERS) } },
} as const;

export function historyRoutes(app: FastifyInstance, engine: Engine, history: History): void {
  // a deleted guest's figures go with it, so that a new guest of the same name starts afresh
  app.addHook('onResponse', async (req, reply) => {
    if (req.method === 'DELETE' && reply.statusCode === 204 && req.routeOptions.url === '/1.0/guests/:name') {
      history.drop((req.params as { name: string }).name);
    }
  });
  app.get<{ Params: { name: string }; Querystring: { range?: HistoryRange } }>(
    '/1.0/guests/:name/history',
    {
      schema: { params: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } }, querystring: rangeQuery },
    },
    async (req) => {
      const name = checkName(req.params.name);
      await engine.config(name); // an unknown guest is NOT_FOUND, not an empty history
      const range = req.query.range ?? '5m';
      return { name, range, step: TIERS[range].step, points: history.range(name, range) };
    },
  );

  // every guest's points at once, so that a list of many guests costs one request
  app.get<{ Querystring: { range?: HistoryRange } }>('/1.0/history', { schema: { querystring: rangeQuery } }, async (req) => {
    const range = req.query.range ?? '5m';
    return { range, step: TIERS[range].step, guests: Object.fromEntries(history.names().map((n) => [n, history.range(n, range)])) };
  });
}
