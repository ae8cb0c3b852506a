// The source's end of the daemon's migration route: a command there, our stdin and stdout joined to
// it, as ssh joins them; rsync runs this as its -e, so that its data goes over the API's TLS link.
import WebSocket from 'ws';
import { VsError } from '../util/errors.js';
import { errorFrom, type ApiClient } from './client.js';

/** A link that answers no ping for this long is cut (as ssh's keep-alives find it). */
const PING_MS = 2000;
const DEAD_MS = 8000;
/** Bytes sent and not yet written to the link before stdin waits. */
const IN_FLIGHT = 4 << 20;

/** Runs the command on the daemon with this process's stdio; resolves with its exit code. */
export async function relay(client: ApiClient, command: readonly string[]): Promise<number> {
  const socket = await client.connect();
  const ws = new WebSocket(`ws://vserverd/1.0/migrate?command=${encodeURIComponent(JSON.stringify(command))}`, {
    createConnection: () => socket,
    headers: client.headers(),
  });
  return new Promise<number>((resolve, reject) => {
    let code: number | undefined;
    let inFlight = 0;
    let heard = Date.now();
    const input = process.stdin;
    const ping = setInterval(() => {
      if (Date.now() - heard > DEAD_MS) ws.terminate();
      else if (ws.readyState === WebSocket.OPEN) ws.ping();
    }, PING_MS);
    const fail = (e: VsError) => {
      clearInterval(ping);
      input.pause();
      ws.terminate();
      socket.destroy();
      reject(e);
    };
    ws.on('pong', () => {
      heard = Date.now();
    });
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        fail(errorFrom(res.statusCode ?? 500, body, client.where));
      });
    });
    ws.on('open', () => {
      input.on('data', (b: Buffer) => {
        inFlight += b.length;
        if (inFlight > IN_FLIGHT) input.pause();
        ws.send(Buffer.concat([Buffer.of(0), b]), () => {
          inFlight -= b.length;
          if (inFlight <= IN_FLIGHT) input.resume();
        });
      });
      input.on('end', () => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ type: 'eof' })));
      input.resume();
    });
    ws.on('message', (data: Buffer, binary: boolean) => {
      heard = Date.now();
      if (binary) (data[0] === 2 ? process.stderr : process.stdout).write(data.subarray(1));
      else {
        const msg = JSON.parse(data.toString('utf8')) as { type?: string; code?: number };
        if (msg.type === 'exit' && typeof msg.code === 'number') code = msg.code;
      }
    });
    ws.on('close', () => {
      if (code !== undefined) {
        clearInterval(ping);
        resolve(code);
      } else fail(new VsError('NETWORK_FAILED', `the link to ${client.where} was lost`, 'check the link and that vserverd runs there'));
    });
    ws.on('error', (e) =>
      fail(new VsError('NETWORK_FAILED', `the link to ${client.where} failed: ${e.message}`, 'is vserverd still running there?')),
    );
  });
}
