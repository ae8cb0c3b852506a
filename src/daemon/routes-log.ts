// GET /1.0/guests/{name}/log: the guest's console and init output (var/log/vserver/NAME.log);
// ?follow=1 keeps the response open and sends what is appended, as inotify reports it.
import { closeSync, createReadStream, fstatSync, mkdirSync, openSync, readSync, statSync, watch } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../engine/index.js';
import { checkName } from '../guest/name.js';
import { errnoOf, VsError } from '../util/errors.js';

const nameParam = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } as const;
const logQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { follow: { type: 'string', enum: ['0', '1', 'true', 'false'] } },
} as const;

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return 0;
    throw e;
  }
}

export function logRoutes(app: FastifyInstance, engine: Engine): void {
  const { paths, store } = engine.deps;
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });
  app.get<{ Params: { name: string }; Querystring: { follow?: string } }>(
    '/1.0/guests/:name/log',
    { schema: { params: nameParam, querystring: logQuery } },
    async (req, reply) => {
      const name = checkName(req.params.name);
      if (!store.exists(name)) throw new VsError('NOT_FOUND', `guest '${name}' not found`, "see 'vserver list'");
      const file = paths.log(name);
      const follow = req.query.follow === '1' || req.query.follow === 'true';
      if (!follow) {
        if (sizeOf(file) === 0) return reply.type('text/plain; charset=utf-8').send('');
        return reply.type('text/plain; charset=utf-8').send(createReadStream(file));
      }
      const res = reply.raw;
      reply.hijack();
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
      mkdirSync(paths.logDir, { recursive: true });
      let offset = 0;
      const pump = () => {
        let fd: number;
        try {
          fd = openSync(file, 'r');
        } catch {
          return; // not written yet: the directory watch says when it is
        }
        try {
          const size = fstatSync(fd).size;
          if (size < offset) offset = 0; // truncated or replaced: start again from its beginning
          const buf = Buffer.alloc(64 * 1024);
          while (offset < size && !res.destroyed) {
            const n = readSync(fd, buf, 0, Math.min(buf.length, size - offset), offset);
            if (n <= 0) break;
            offset += n;
            res.write(Buffer.from(buf.subarray(0, n)));
          }
        } finally {
          closeSync(fd);
        }
      };
      // the directory, so that a log created or replaced later is followed too
      const w = watch(paths.logDir, (_ev, f) => {
        if (String(f) === `${name}.log`) pump();
      });
      w.on('error', () => res.end());
      const end = () => res.end();
      open.add(end);
      res.on('close', () => {
        w.close();
        open.delete(end);
      });
      pump();
    },
  );
}
