// /1.0/guests: list, show, change state (one guest or many), delete.
import type { FastifyInstance } from 'fastify';
import type { BulkResult, Engine } from '../engine/index.js';
import { checkName } from '../guest/name.js';
import { errorBody } from './errors.js';
import type { GuestList } from './guest-list.js';

const ACTIONS = ['start', 'stop', 'restart'] as const;
type Action = (typeof ACTIONS)[number];

const stateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  properties: {
    action: { type: 'string', enum: ACTIONS },
    timeout: { type: 'integer', minimum: 0, maximum: 86400 },
  },
} as const;

const bulkBody = {
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  properties: {
    ...stateBody.properties,
    names: { type: 'array', items: { type: 'string' }, maxItems: 10000 },
    all: { type: 'boolean' },
    mark: { type: 'string' },
    jobs: { type: 'integer', minimum: 1, maximum: 256 },
  },
} as const;

const nameParam = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } as const;

/** One bulk result as JSON: the guest's state after it, or the error with its code. */
function resultJson(r: BulkResult): Record<string, unknown> {
  return {
    name: r.name,
    action: r.action,
    ok: r.ok,
    ...(r.note ? { note: r.note } : {}),
    ...(r.info ? { state: r.info.state, context: r.info.context } : r.ok ? { state: r.action === 'stop' ? 'stopped' : 'running' } : {}),
    ...(r.error ? errorBody(r.error) : {}),
  };
}

export function guestRoutes(app: FastifyInstance, engine: Engine, guests: GuestList): void {
  app.get<{ Querystring: { state?: string; mark?: string; figures?: string } }>(
    '/1.0/guests',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: ['running', 'stopped'] },
            mark: { type: 'string' },
            figures: { type: 'string', enum: ['0', '1', 'true', 'false'] },
          },
        },
      },
    },
    async (req, reply) => {
      const { state, mark } = req.query;
      const body = await guests.body({ state, mark, figures: req.query.figures === '1' || req.query.figures === 'true' });
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );

  app.get<{ Params: { name: string } }>('/1.0/guests/:name', { schema: { params: nameParam } }, async (req) =>
    engine.status(checkName(req.params.name)),
  );

  app.put<{ Params: { name: string }; Body: { action: Action; timeout?: number } }>(
    '/1.0/guests/:name/state',
    { schema: { params: nameParam, body: stateBody } },
    async (req) => {
      const name = checkName(req.params.name);
      const { action, timeout } = req.body;
      if (action === 'start') return engine.start(name);
      if (action === 'restart') return engine.restart(name, { timeoutS: timeout });
      await engine.stop(name, { timeoutS: timeout });
      return engine.status(name);
    },
  );

  // many guests at once: one result per guest, in parallel; the status is 200 even when some failed
  app.put<{ Body: { action: Action; timeout?: number; names?: string[]; all?: boolean; mark?: string; jobs?: number } }>(
    '/1.0/guests/state',
    { schema: { body: bulkBody } },
    async (req) => {
      const { action, timeout, names, all, mark, jobs } = req.body;
      for (const n of names ?? []) checkName(n);
      const results = await engine.bulk(action, { names, all, mark }, { jobs, timeoutS: timeout });
      return { results: results.map(resultJson), failed: results.filter((r) => !r.ok).length };
    },
  );

  app.delete<{ Params: { name: string }; Querystring: { force?: string } }>(
    '/1.0/guests/:name',
    {
      schema: {
        params: nameParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { force: { type: 'string', enum: ['0', '1', 'true', 'false'] } },
        },
      },
    },
    async (req, reply) => {
      const name = checkName(req.params.name);
      await engine.delete(name, { force: req.query.force === '1' || req.query.force === 'true' });
      return reply.status(204).send();
    },
  );
}
