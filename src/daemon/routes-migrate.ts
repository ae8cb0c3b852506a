// GET /1.0/migrate?command=JSON, upgraded to a WebSocket: what an ssh session to this host would run
// for vserver migrate, its stdio relayed as the exec route's frames (binary: a channel byte, 0 stdin,
// 1 stdout, 2 stderr; text: {"type":"eof"} in, {"type":"exit","code":N} out). It runs only the
// receive protocol (in this process, through the engine) and rsync's server into its staging trees.
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type {} from '@fastify/websocket';
import type { WebSocket } from 'ws';
import type { Engine } from '../engine/index.js';
import { toVsError, VsError } from '../util/errors.js';
import { launch } from '../util/proc.js';
import { checkRelayCommand, type RelayCommand } from './migrate-argv.js';

const query = {
  type: 'object',
  additionalProperties: false,
  required: ['command'],
  properties: { command: { type: 'string', maxLength: 16384 } },
} as const;

/** One frame of a channel to the client. */
const frame = (channel: number, data: Buffer | string) => Buffer.concat([Buffer.of(channel), Buffer.from(data)]);

/** Wires a socket to a process-like pair: client stdin into `input`, and the end of either side. */
function relayInput(ws: WebSocket, input: NodeJS.WritableStream & { end(): void }, gone: () => void): void {
  ws.on('message', (data: Buffer, binary: boolean) => {
    if (binary && data[0] === 0) {
      // the client waits while a slow consumer catches up
      if (!input.write(data.subarray(1))) {
        ws.pause();
        input.once('drain', () => ws.resume());
      }
    } else if (!binary && data.toString('utf8').includes('"eof"')) input.end();
  });
  ws.on('close', () => {
    input.end();
    gone();
  });
  ws.on('error', () => undefined);
}

function exit(ws: WebSocket, code: number, err?: VsError): void {
  if (ws.readyState !== ws.OPEN) return;
  if (err) ws.send(frame(2, `vserver: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ''}`));
  ws.send(JSON.stringify({ type: 'exit', code }));
  ws.close(1000);
}

export function migrateRoutes(app: FastifyInstance, engine: Engine): void {
  /** Staging trees of the receives running here, each with the command that writes it. */
  const staging = new Map<string, readonly string[]>();
  const checked = new WeakMap<FastifyRequest, RelayCommand>();

  const receive = (ws: WebSocket, name: string) => {
    const input = new PassThrough();
    const mine: string[] = [];
    relayInput(ws, input, () => undefined);
    const send = (msg: Record<string, unknown>) => {
      // the trees this receive announces become writable for rsync, until it ends
      const words = (x: unknown) => (Array.isArray(x) ? x.map(String) : ['rsync']);
      if (msg.ok === true && typeof msg.staging === 'string') {
        for (const part of ['rootfs', 'upper']) mine.push(join(msg.staging, part));
        for (const t of mine) staging.set(t, words(msg.rsyncPath));
        if (typeof msg.templateStaging === 'string') {
          mine.push(join(msg.templateStaging, 'rootfs'));
          staging.set(mine.at(-1)!, words(msg.templateRsyncPath));
        }
      }
      if (ws.readyState === ws.OPEN) ws.send(frame(1, `${JSON.stringify(msg)}\n`));
    };
    engine
      .receive(name, input, send)
      .then(
        () => exit(ws, 0),
        (e) => exit(ws, toVsError(e).exitCode, toVsError(e)),
      )
      .finally(() => {
        for (const t of mine) staging.delete(t);
      });
  };

  const rsync = (ws: WebSocket, argv: string[]) => {
    const p = launch(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], stderrChunks: 0 });
    p.child.stdin!.on('error', () => undefined);
    relayInput(ws, p.child.stdin!, () => p.child.kill('SIGTERM'));
    for (const [ch, s] of [
      [1, p.child.stdout!],
      [2, p.child.stderr!],
    ] as const)
      s.on('data', (b: Buffer) => {
        if (ws.readyState === ws.OPEN) ws.send(frame(ch, b));
      });
    p.exit.then(
      (x) => exit(ws, x.signal ? 128 : x.code),
      (e) => exit(ws, 127, toVsError(e)),
    );
  };

  app.route<{ Querystring: { command: string } }>({
    method: 'GET',
    url: '/1.0/migrate',
    schema: { querystring: query },
    // refused before the upgrade: 403 and our error body for anything but what migrate runs
    preValidation: async (req) => {
      let command: unknown;
      try {
        command = JSON.parse(String(req.query.command ?? ''));
      } catch {
        command = undefined;
      }
      checked.set(req, checkRelayCommand(command, staging));
    },
    handler: async () => {
      throw new VsError('USAGE', 'the migration route is used with a WebSocket', 'vserver migrate NAME REMOTE connects it');
    },
    wsHandler: (ws: WebSocket, req) => {
      const c = checked.get(req);
      if (!c) ws.close(1011, 'no command');
      else if (c.kind === 'receive') receive(ws, c.name);
      // checked again: the receive may have ended between the check and the upgrade
      else if (staging.get(c.dest) === undefined) exit(ws, 25, new VsError('NOT_PERMITTED', `no active receive writes ${c.dest}`));
      else rsync(ws, c.argv);
    },
  });
}
