// Read-only views of the whole host (stat, ps, templates) and a guest's live limits.
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../engine/index.js';
import { checkName } from '../guest/name.js';

const nameParam = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } as const;

export function hostRoutes(app: FastifyInstance, engine: Engine): void {
  app.get('/1.0/stat', async () => engine.stat());
  app.get('/1.0/templates', async () => engine.templateList());
  // ps takes the same options as `vserver ps` (passed to ps(1) as an argument array)
  app.get<{ Querystring: { options?: string; name?: string } }>('/1.0/ps', {
    schema: { querystring: { type: 'object', additionalProperties: false, properties: { options: { type: 'string', maxLength: 200 }, name: { type: 'string' } } } },
  }, async (req) => {
    const opts = (req.query.options ?? '-ef').split(' ').filter(Boolean);
    return engine.ps(opts, req.query.name === undefined ? undefined : checkName(req.query.name));
  });

  app.get<{ Params: { name: string } }>('/1.0/guests/:name/limits', { schema: { params: nameParam } },
    async (req) => engine.limits(checkName(req.params.name)));

  // the keys and values of `vserver limit`, one change per key, in the order given; a running guest gets each at once
  app.patch<{ Params: { name: string }; Body: Record<string, string> }>('/1.0/guests/:name/limits', {
    schema: { params: nameParam, body: { type: 'object', minProperties: 1, maxProperties: 64, additionalProperties: { type: 'string', maxLength: 200 } } },
  }, async (req) => {
    const name = checkName(req.params.name);
    const results = [];
    for (const [key, value] of Object.entries(req.body)) results.push(await engine.setLimit(name, key, value));
    return { name, limits: results.at(-1)!.limits, live: results.every((r) => r.live), warnings: results.flatMap((r) => r.warnings) };
  });
}
