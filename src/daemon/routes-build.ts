// POST /1.0/guests builds a guest as an operation, from every source `vserver build` has; a tarball
// comes as the request body, streamed into the extraction (no temp file). /1.0/operations reads,
// waits for and cancels operations.
import { once } from 'node:events';
import { Transform, type Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { BuildOptions, BuildSource, Engine } from '../engine/index.js';
import { checkName } from '../guest/name.js';
import { INIT_STYLES, type InitStyle } from '../guest/schema.js';
import { VsError } from '../util/errors.js';
import type { Operations } from './operations.js';

/** Body types that carry a tarball; the build options then come in the query string. */
export const TARBALL_TYPES = [
  'application/x-tar',
  'application/gzip',
  'application/x-gzip',
  'application/x-xz',
  'application/zstd',
  'application/octet-stream',
];

const name = { type: 'string', maxLength: 255 } as const;
const options = {
  name,
  backend: { type: 'string', enum: ['dir', 'overlay'] },
  isolated: { type: 'boolean' },
  context: { type: 'integer' },
  hostname: { type: 'string', maxLength: 253 },
  init: { type: 'string', enum: INIT_STYLES },
  cmd: { type: 'array', items: { type: 'string', maxLength: 4096 }, minItems: 1, maxItems: 256 },
  privileged: { type: 'boolean' },
} as const;

const source = {
  oneOf: [
    { type: 'object', additionalProperties: false, required: ['kind', 'name'], properties: { kind: { const: 'template' }, name } },
    { type: 'object', additionalProperties: false, required: ['kind'], properties: { kind: { const: 'busybox' } } },
    {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'suite'],
      properties: {
        kind: { const: 'debootstrap' },
        suite: { type: 'string', maxLength: 64 },
        mirror: { type: 'string', maxLength: 1024 },
        variant: { type: 'string', maxLength: 64 },
        include: { type: 'array', items: { type: 'string', maxLength: 128 }, maxItems: 256 },
      },
    },
    { type: 'object', additionalProperties: false, required: ['kind', 'guest'], properties: { kind: { const: 'clone' }, guest: name } },
  ],
} as const;

export const buildBody = { type: 'object', additionalProperties: false, required: ['name'], properties: { ...options, source } } as const;
/** A tarball upload: the same options as text in the query string. */
const uploadQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name,
    backend: { type: 'string', enum: ['dir'] },
    context: { type: 'string', pattern: '^[0-9]{1,6}$' },
    hostname: options.hostname,
    init: options.init,
    privileged: { type: 'string', enum: ['0', '1', 'true', 'false'] },
  },
} as const;

type JsonSource =
  | { kind: 'template'; name: string }
  | { kind: 'busybox' }
  | { kind: 'clone'; guest: string }
  | { kind: 'debootstrap'; suite: string; mirror?: string; variant?: string; include?: string[] };
/** The engine's build options as JSON: a name, and a source that is not a file or a stream. */
interface BuildBody extends Omit<BuildOptions, 'source' | 'onProgress' | 'signal'> {
  name: string;
  source?: JsonSource;
}
type UploadQuery = { name: string; backend?: 'dir'; context?: string; hostname?: string; init?: InitStyle; privileged?: string };

const opParam = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } as const;

/** Counts the bytes that pass and fails once there are more than limit. */
function bounded(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > limit)
        cb(
          new VsError(
            'USAGE',
            `the uploaded tarball is larger than the body limit of ${limit} bytes`,
            'raise [api] body_limit in vserver.toml, or build from a file on the host',
          ),
        );
      else cb(null, chunk);
    },
  });
}

/** What the CLI's build refuses before it starts, refused here with the same words. */
function checkRequest(engine: Engine, b: { name: string; init?: string; cmd?: string[] }): string {
  const n = checkName(b.name);
  if (b.init === 'cmd' && !b.cmd)
    throw new VsError(
      'USAGE',
      'init "cmd" needs cmd, the command to run',
      'for example: {"init": "cmd", "cmd": ["/bin/sh", "-c", "sleep 1000"]}',
    );
  if (engine.deps.store.exists(n)) {
    throw new VsError(
      'ALREADY_EXISTS',
      `guest '${n}' already exists`,
      `choose another name, or delete it first with 'vserver delete ${n}'`,
    );
  }
  return n;
}

function toSource(s: JsonSource | undefined): BuildSource | undefined {
  if (s === undefined) return undefined;
  if (s.kind === 'busybox') return { kind: 'template', name: 'busybox' };
  if (s.kind === 'clone') return { kind: 'clone', guest: checkName(s.guest) };
  return s;
}

export function buildRoutes(app: FastifyInstance, engine: Engine, ops: Operations, bodyLimit: number): void {
  // a tarball body is handed on as a stream; bounded() enforces the body limit while it flows
  app.addContentTypeParser(TARBALL_TYPES, { bodyLimit }, (_req, payload, done) => done(null, payload));

  const run = (name: string, opts: BuildOptions) =>
    ops.start('build', ({ signal, progress }) => {
      progress({ step: 'building' });
      return engine.build(name, {
        ...opts,
        signal,
        onProgress: (p) => progress({ step: p.stage, ...(p.end > 0 ? { done: p.now, total: p.end, unit: p.unit } : {}) }),
      });
    });

  app.post<{ Body: BuildBody | Readable; Querystring: UploadQuery | Record<string, never> }>(
    '/1.0/guests',
    {
      schema: {
        // a JSON body is checked by the schema; a tarball is a stream, checked by the extraction
        body: { content: { 'application/json': { schema: buildBody } } },
        // the query string names the guest only for a tarball upload
        querystring: { anyOf: [uploadQuery, { type: 'object', additionalProperties: false, maxProperties: 0 }] },
      },
    },
    async (req, reply) => {
      const body = req.body;
      if (typeof (body as Readable).pipe === 'function') {
        const stream = body as Readable;
        const q = req.query as UploadQuery;
        // refused before the body is read: the connection closes instead of taking in the rest
        void reply.header('connection', 'close');
        if (q.name === undefined) {
          throw new VsError(
            'USAGE',
            'a tarball upload names the guest in the query string',
            'POST /1.0/guests?name=NAME with the archive as the body',
          );
        }
        const name = checkRequest(engine, q);
        const upload = stream.pipe(bounded(bodyLimit));
        stream.on('error', (e) => upload.destroy(e));
        const op = run(name, {
          source: { kind: 'tarball', file: `upload:${name}`, stream: upload },
          backend: q.backend,
          context: q.context === undefined ? undefined : Number(q.context),
          hostname: q.hostname,
          init: q.init,
          privileged: q.privileged === '1' || q.privileged === 'true',
        });
        // answer once the upload is in (or the build has already failed on it)
        await Promise.race([once(stream, 'end').catch(() => undefined), ops.wait(op.id, 24 * 3600_000)]);
        return reply
          .status(202)
          .header('location', `/1.0/operations/${op.id}`)
          .send({ id: op.id, operation: `/1.0/operations/${op.id}` });
      }
      if (Object.keys(req.query).length > 0)
        throw new VsError(
          'USAGE',
          'the query string takes the build options of a tarball upload only',
          'send the options in the JSON body',
        );
      const b = body as BuildBody;
      const name = checkRequest(engine, b);
      const op = run(name, {
        source: toSource(b.source),
        backend: b.backend,
        isolated: b.isolated,
        context: b.context,
        hostname: b.hostname,
        init: b.init,
        cmd: b.cmd,
        privileged: b.privileged,
      });
      return reply
        .status(202)
        .header('location', `/1.0/operations/${op.id}`)
        .send({ id: op.id, operation: `/1.0/operations/${op.id}` });
    },
  );

  app.get('/1.0/operations', async () => ops.list());
  app.get<{ Params: { id: string } }>('/1.0/operations/:id', { schema: { params: opParam } }, async (req) => ops.get(req.params.id));
  app.get<{ Params: { id: string }; Querystring: { timeout?: number } }>(
    '/1.0/operations/:id/wait',
    {
      schema: {
        params: opParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { timeout: { type: 'string', pattern: '^[0-9]{1,5}(\\.[0-9]{1,3})?$' } },
        },
      },
    },
    async (req) => ops.wait(req.params.id, Math.min(Number(req.query.timeout ?? 30), 3600) * 1000),
  );
  app.delete<{ Params: { id: string } }>('/1.0/operations/:id', { schema: { params: opParam } }, async (req) => ops.cancel(req.params.id));
}
