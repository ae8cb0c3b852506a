// Read-only views of the whole host: stat, ps and templates.
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../engine/index.js';
import { checkName } from '../guest/name.js';

export function hostRoutes(app: FastifyInstance, engine: Engine): void {
  app.get('/1.0/stat', async () => engine.stat());
  app.get('/1.0/templates', async () => engine.templateList());
  // ps takes the same options as `vserver ps` (passed to ps(1) as an argument array)
  app.get<{ Querystring: { options?: string; name?: string } }>(
    '/1.0/ps',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { options: { type: 'string', maxLength: 200 }, name: { type: 'string' } },
        },
      },
    },
    async (req) => {
      const opts = (req.query.options ?? '-ef').split(' ').filter(Boolean);
      return engine.ps(opts, req.query.name === undefined ? undefined : checkName(req.query.name));
    },
  );
}
