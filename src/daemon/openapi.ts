// GET /1.0/openapi.json: the API described from the schemas that check it, the route schemas as
// fastify registers them and the valibot schemas of the TOML files.
import { toJsonSchema } from '@valibot/to-json-schema';
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Engine } from '../engine/index.js';
import { GuestConfigSchema, HostConfigSchema } from '../guest/schema.js';
import { LimitsSchema } from '../guest/limits-schema.js';
import { ERROR_CODES } from '../util/errors.js';
import { VERSION } from '../version.js';

type Json = Record<string, unknown>;

const ERROR = { $ref: '#/components/schemas/Error' };
const errorSchema = {
  type: 'object',
  required: ['error', 'code'],
  properties: { error: { type: 'string' }, code: { type: 'string', enum: Object.keys(ERROR_CODES) }, hint: { type: 'string' } },
};

/** Query or path parameters of a route from its JSON Schema. */
function parameters(where: 'path' | 'query', schema: unknown): Json[] {
  const s = schema as { properties?: Record<string, unknown>; required?: string[]; anyOf?: unknown[] } | undefined;
  if (!s) return [];
  if (s.anyOf) return [...new Map(s.anyOf.flatMap((x) => parameters(where, x)).map((p) => [p.name, { ...p, required: false }])).values()];
  return Object.entries(s.properties ?? {}).map(([name, sch]) => ({
    name,
    in: where,
    required: where === 'path' || (s.required ?? []).includes(name),
    schema: sch,
  }));
}

function requestBody(body: unknown, tarball: boolean): Json | undefined {
  if (body === undefined) return undefined;
  const b = body as { content?: Record<string, { schema: unknown }> };
  const content: Json = b.content
    ? Object.fromEntries(Object.entries(b.content).map(([t, c]) => [t, { schema: c.schema }]))
    : { 'application/json': { schema: body } };
  if (tarball)
    content['application/x-tar'] = {
      schema: { type: 'string', format: 'binary' },
      description: 'a root tree as .tar, .tar.gz, .tar.xz or .tar.zst; the options in the query string',
    };
  return { required: true, content };
}

/** The document, from the routes seen so far. */
function document(routes: RouteOptions[]): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    if (!r.url.startsWith('/1.0') && r.url !== '/metrics') continue; // the dashboard's pages are not API
    const methods = (Array.isArray(r.method) ? r.method : [r.method]).map((m) => m.toLowerCase()).filter((m) => m !== 'head');
    const path = r.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const schema = (r.schema ?? {}) as { params?: unknown; querystring?: unknown; body?: unknown };
    for (const m of methods) {
      const op: Json = {
        operationId: `${m}${path
          .replace(/[{}]/g, '')
          .split('/')
          .filter(Boolean)
          .map((p) => p[0]!.toUpperCase() + p.slice(1))
          .join('')}`.replace(/[^A-Za-z0-9]/g, ''),
        parameters: [...parameters('path', schema.params), ...parameters('query', schema.querystring)],
        responses: {
          '2XX': { description: 'success' },
          default: { description: 'an error', content: { 'application/json': { schema: ERROR } } },
        },
      };
      const body = requestBody(schema.body, path === '/1.0/guests' && m === 'post');
      if (body) op.requestBody = body;
      (paths[path] ??= {})[m] = op;
    }
  }
  // the files as users write them ("512M"), not the typed values the schemas turn them into
  const vb = (s: Parameters<typeof toJsonSchema>[0]) => {
    const { $schema: _, ...rest } = toJsonSchema(s, { errorMode: 'ignore', target: 'openapi-3.0', typeMode: 'input' }) as Json;
    return rest;
  };
  return {
    openapi: '3.0.3',
    info: { title: 'vserverd', version: VERSION, description: 'OS-level virtualisation for Linux: the vserver engine over HTTP' },
    paths,
    components: {
      schemas: { Error: errorSchema, GuestConfig: vb(GuestConfigSchema), HostConfig: vb(HostConfigSchema), Limits: vb(LimitsSchema) },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, clientCertificate: { type: 'mutualTLS' } },
    },
    security: [{ bearer: [] }, { clientCertificate: [] }],
  };
}

/** Collects every route registered after it, and serves the document made from them. */
export function openApiRoute(app: FastifyInstance, _engine: Engine): void {
  const routes: RouteOptions[] = [];
  let doc: Json | undefined;
  app.addHook('onRoute', (r) => {
    routes.push(r);
    doc = undefined;
  });
  app.get('/1.0/openapi.json', async () => (doc ??= document(routes)));
}
