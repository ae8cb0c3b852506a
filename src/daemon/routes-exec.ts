// POST /1.0/guests/{name}/exec, then a WebSocket to the socket URL it returns: binary frames are
// one channel byte and data (0 stdin; 1 stdout, 2 stderr), text frames JSON control messages. With
// "wait": true the POST itself runs the command to its end and answers with its exit code and output.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type {} from '@fastify/websocket';
import type { WebSocket } from 'ws';
import type { Engine } from '../engine/index.js';
import { checkName } from '../guest/name.js';
import { VsError } from '../util/errors.js';
import { ExecSessions, type ExecRequest } from './exec-sessions.js';
import { helperPath } from '../util/helpers.js';

const execBody = {
  type: 'object',
  additionalProperties: false,
  required: ['command'],
  properties: {
    command: { type: 'array', minItems: 1, maxItems: 4096, items: { type: 'string', maxLength: 65536 } },
    interactive: { type: 'boolean' },
    cols: { type: 'integer', minimum: 1, maximum: 10000 },
    rows: { type: 'integer', minimum: 1, maximum: 10000 },
    env: { type: 'object', maxProperties: 1024, additionalProperties: { type: 'string', maxLength: 65536 } },
    cwd: { type: 'string', minLength: 1, maxLength: 4096 },
    user: { type: 'string', maxLength: 32 },
    wait: { type: 'boolean' },
  },
} as const;

const nameParam = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } as const;
const socketQuery = { type: 'object', additionalProperties: false, properties: { secret: { type: 'string', maxLength: 200 } } } as const;

export function execRoutes(app: FastifyInstance, engine: Engine, relay: () => string = () => helperPath('pty-relay')): ExecSessions {
  const sessions = new ExecSessions(engine, relay);
  const found = new WeakMap<FastifyRequest, ReturnType<ExecSessions['find']>>();
  app.addHook('onClose', async () => sessions.close());

  app.post<{ Params: { name: string }; Body: ExecRequest }>(
    '/1.0/guests/:name/exec',
    { schema: { params: nameParam, body: execBody } },
    async (req, reply) => {
      if (req.body.wait) {
        const result = await sessions.runToEnd(checkName(req.params.name), req.body, (hangUp) => {
          const res = reply.raw;
          if (res.destroyed) hangUp();
          else res.on('close', () => res.writableFinished || hangUp());
        });
        return reply.status(200).send(result);
      }
      const { id, secret } = await sessions.create(checkName(req.params.name), req.body);
      return reply.status(201).send({ id, socket: `/1.0/exec/${id}?secret=${secret}` });
    },
  );

  app.route<{ Params: { id: string }; Querystring: { secret?: string } }>({
    method: 'GET',
    url: '/1.0/exec/:id',
    schema: { querystring: socketQuery },
    // refused before the upgrade, with a status and our error body
    preValidation: async (req) => {
      found.set(req, sessions.find(req.params.id, req.query.secret));
    },
    handler: async () => {
      throw new VsError(
        'USAGE',
        'an exec session is attached with a WebSocket',
        'connect to this URL with a WebSocket client (Upgrade: websocket)',
      );
    },
    wsHandler: (socket: WebSocket, req) => {
      const s = found.get(req);
      if (s) sessions.attach(s, socket);
      else socket.close(1011, 'no session');
    },
  });
  return sessions;
}
