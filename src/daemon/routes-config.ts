// A guest's configuration and live limits: read with a version (ETag), change by key or as whole TOML
// text (If-Match refuses lost updates), through the same engine calls as `vserver config` and `vserver limit`.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Engine } from '../engine/index.js';
import { ConfigError } from '../guest/config.js';
import { checkName } from '../guest/name.js';
import { VsError } from '../util/errors.js';
import { errorBody } from './errors.js';

const nameParam = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } as const;

const setBody = {
  type: 'object',
  additionalProperties: false,
  required: ['set'],
  properties: { set: { type: 'object', minProperties: 1, maxProperties: 64, propertyNames: { maxLength: 200 } } },
} as const;

const limitsBody = {
  type: 'object',
  minProperties: 1,
  maxProperties: 64,
  additionalProperties: { type: 'string', maxLength: 200 },
} as const;

/** An entity tag as sent: "VERSION" (quotes required by RFC 9110, tolerated without); '*' matches any version. */
function ifMatch(header: string | string[] | undefined): { given: boolean; version?: string } {
  if (header === undefined) return { given: false };
  const tags = (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (tags.length === 0) return { given: false };
  if (tags.includes('*')) return { given: true };
  if (tags.length > 1) throw new VsError('USAGE', 'If-Match names more than one version', 'send the one ETag that GET .../config answered');
  const m = /^(?:W\/)?"?([0-9a-f]{64})"?$/i.exec(tags[0]!);
  if (!m)
    throw new VsError(
      'USAGE',
      `If-Match '${tags[0]!.slice(0, 80)}' is not a version of a config`,
      'send the ETag that GET .../config answered',
    );
  return { given: true, version: m[1]!.toLowerCase() };
}

const etag = (version: string) => `"${version}"`;

/** A config the request would make invalid is the request's fault (400), pointing at the key and line. */
async function refusingInvalid<T>(reply: FastifyReply, fn: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ConfigError) return reply.status(400).send(errorBody(e));
    throw e;
  }
}

export function configRoutes(app: FastifyInstance, engine: Engine): void {
  // TOML arrives as text; its syntax is checked by the same parser as the files
  app.addContentTypeParser('application/toml', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.get<{ Params: { name: string } }>('/1.0/guests/:name/config', { schema: { params: nameParam } }, async (req, reply) => {
    const doc = await engine.configDocument(checkName(req.params.name));
    void reply.header('etag', etag(doc.version));
    const accept = req.headers.accept ?? '';
    if (accept.includes('application/json') && !accept.includes('application/toml')) return doc.config;
    return reply.type('application/toml; charset=utf-8').send(doc.text);
  });

  app.patch<{ Params: { name: string }; Body: { set: Record<string, unknown> } }>(
    '/1.0/guests/:name/config',
    { schema: { params: nameParam, body: setBody } },
    async (req, reply) => {
      const name = checkName(req.params.name);
      const { version: ifVersion } = ifMatch(req.headers['if-match']);
      return refusingInvalid(reply, async () => {
        const { version } = await engine.editConfig(name, { set: req.body.set }, { ifVersion });
        return reply.header('etag', etag(version)).send({ name, version });
      });
    },
  );

  app.put<{ Params: { name: string }; Body: string }>('/1.0/guests/:name/config', { schema: { params: nameParam } }, async (req, reply) => {
    const name = checkName(req.params.name);
    if (typeof req.body !== 'string') {
      throw new VsError('USAGE', 'the body must be the whole config as TOML text', 'send it with Content-Type: application/toml');
    }
    const match = ifMatch(req.headers['if-match']);
    if (!match.given) {
      throw new VsError(
        'VERSION_REQUIRED',
        'replacing the whole config needs the version it was made on',
        'send If-Match with the ETag that GET .../config answered (or * to overwrite whatever is there)',
      );
    }
    const text = req.body;
    return refusingInvalid(reply, async () => {
      const { version } = await engine.editConfig(name, { text }, { ifVersion: match.version });
      return reply.header('etag', etag(version)).send({ name, version });
    });
  });

  app.get<{ Params: { name: string } }>('/1.0/guests/:name/limits', { schema: { params: nameParam } }, async (req) =>
    engine.limits(checkName(req.params.name)),
  );

  // the keys and values of `vserver limit`, all applied or none; a running guest gets them at once
  app.patch<{ Params: { name: string }; Body: Record<string, string> }>(
    '/1.0/guests/:name/limits',
    { schema: { params: nameParam, body: limitsBody } },
    async (req, reply) => {
      const name = checkName(req.params.name);
      const { version: ifVersion } = ifMatch(req.headers['if-match']);
      const r = await engine.setLimits(name, Object.entries(req.body), { ifVersion });
      return reply.header('etag', etag(r.version)).send({ name, limits: r.limits, live: r.live, warnings: r.warnings, version: r.version });
    },
  );
}
