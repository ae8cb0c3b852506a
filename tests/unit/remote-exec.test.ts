// The client side of exec over the API, against a small server that follows the exec contract:
// POST .../exec answers {id, socket}; the WebSocket carries channel-tagged binary frames and JSON
// control frames, and ends with {"type":"exit","code":N} and close 1000.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { ApiClient } from '../../src/remote/client.js';
import { remoteExec } from '../../src/remote/exec.js';

let dir: string;
let server: Server;
let wss: WebSocketServer;
/** What the server saw: the exec request and the control messages. */
let seen: { request?: any; control: any[]; auth?: string };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vsexec-'));
  seen = { control: [] };
  wss = new WebSocketServer({ noServer: true });
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const m = /^\/1\.0\/guests\/([a-z0-9-]+)\/exec$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !m) {
        res.writeHead(404).end(JSON.stringify({ error: 'no such route', code: 'NOT_FOUND', hint: 'x' }));
        return;
      }
      if (m[1] !== 'web1') {
        res.writeHead(404).end(JSON.stringify({ error: `guest '${m[1]}' not found`, code: 'NOT_FOUND', hint: 'vserver list' }));
        return;
      }
      seen.request = JSON.parse(body);
      seen.auth = req.headers.authorization;
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'e1', socket: '/1.0/exec/e1?secret=s3cret' }));
    });
  });
  server.on('upgrade', (req, socket, head) => {
    if (req.url !== '/1.0/exec/e1?secret=s3cret') {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const input: Buffer[] = [];
      ws.send(Buffer.concat([Buffer.from([2]), Buffer.from('warming up\n')]));
      ws.on('message', (data: Buffer, binary) => {
        if (binary) {
          if (data[0] === 0) input.push(data.subarray(1));
          return;
        }
        const msg = JSON.parse(data.toString());
        seen.control.push(msg);
        if (msg.type === 'eof') {
          // the command: upper-cases its input, exits 7
          ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(Buffer.concat(input).toString().toUpperCase())]));
          ws.send(JSON.stringify({ type: 'exit', code: 7 }));
          ws.close(1000);
        }
      });
    });
  });
  await new Promise<void>((r) => server.listen(join(dir, 'd.sock'), r));
});
afterEach(async () => {
  wss.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('exec through the API', () => {
  it('sends stdin, writes stdout and stderr apart, and returns the exit code', async () => {
    writeFileSync(join(dir, 'in'), 'hello from stdin\n');
    const fds = { stdin: openSync(join(dir, 'in'), 'r'), stdout: openSync(join(dir, 'out'), 'w'), stderr: openSync(join(dir, 'err'), 'w') };
    const client = new ApiClient({ url: `unix:${join(dir, 'd.sock')}`, token: 'vst_t' });
    try {
      const code = await remoteExec(client, 'web1', { command: ['tr', 'a-z', 'A-Z'], env: { A: '1' } }, fds);
      expect(code).toBe(7);
    } finally {
      for (const fd of Object.values(fds)) closeSync(fd);
    }
    expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('HELLO FROM STDIN\n');
    expect(readFileSync(join(dir, 'err'), 'utf8')).toBe('warming up\n');
    expect(seen.request).toEqual({ command: ['tr', 'a-z', 'A-Z'], env: { A: '1' } });
    expect(seen.control).toEqual([{ type: 'eof' }]);
    expect(seen.auth).toBe('Bearer vst_t');
  });

  it("passes on the daemon's error when the session cannot be made", async () => {
    const client = new ApiClient({ url: `unix:${join(dir, 'd.sock')}` });
    await expect(
      remoteExec(client, 'nosuch', { command: ['true'] }, { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', message: "guest 'nosuch' not found", exitCode: 4 });
  });

  it('sends eof at once when there is no stdin', async () => {
    const client = new ApiClient({ url: `unix:${join(dir, 'd.sock')}` });
    const out = openSync(join(dir, 'out'), 'w');
    try {
      expect(await remoteExec(client, 'web1', { command: ['true'] }, { stdin: 'ignore', stdout: out, stderr: 'ignore' })).toBe(7);
    } finally {
      closeSync(out);
    }
    expect(seen.control).toEqual([{ type: 'eof' }]);
    expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('');
  });
});
