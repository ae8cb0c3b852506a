// exec and enter through the API: POST .../exec makes the session, a WebSocket carries it. Binary
// frames are one channel byte then data (0 stdin; 1 stdout, 2 stderr); text frames are JSON control.
import { createReadStream, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import WebSocket from 'ws';
import type { ExecIO, StdioTarget } from '../runtime/types.js';
import { VsError } from '../util/errors.js';
import type { ApiClient } from './client.js';

// the request the daemon's exec route takes; only the type, so the daemon's code is not loaded
export type { ExecRequest } from '../daemon/exec-sessions.js';
import type { ExecRequest } from '../daemon/exec-sessions.js';

function sink(target: StdioTarget, std: NodeJS.WriteStream): (b: Buffer) => void {
  if (target === 'ignore') return () => undefined;
  // 'pipe' is for callers in this process (the daemon); the CLI's own streams stand for it here
  if (target === 'inherit' || target === 'pipe')
    return (b) => {
      std.write(b);
    };
  return (b) => {
    let off = 0;
    while (off < b.length) off += writeSync(target, b, off);
  };
}

function source(target: StdioTarget): Readable | undefined {
  if (target === 'ignore') return undefined;
  if (target === 'inherit' || target === 'pipe') return process.stdin;
  return createReadStream('', { fd: target, autoClose: false });
}

/** KEY=VALUE strings as the object the API takes. */
export function envObject(env: readonly string[] | undefined): Record<string, string> | undefined {
  if (!env || env.length === 0) return undefined;
  return Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

/** Our terminal's size; none when it has none set (0 x 0, as a terminal made without a window has). */
function windowSize(): { cols?: number; rows?: number } {
  const { columns, rows } = process.stdout;
  return columns > 0 && rows > 0 ? { cols: columns, rows } : {};
}

/** Runs the command through the daemon; resolves with its exit code. */
export async function remoteExec(client: ApiClient, name: string, req: ExecRequest, io: ExecIO): Promise<number> {
  const tty = req.interactive === true && process.stdout.isTTY === true;
  const made = await client.call<{ id: string; socket: string }>('POST', `/1.0/guests/${encodeURIComponent(name)}/exec`, {
    ...req,
    ...(tty ? windowSize() : {}),
  });
  const socket = await client.connect();
  const ws = new WebSocket(`ws://vserverd${made.socket}`, { createConnection: () => socket, headers: client.headers() });
  const out = sink(io.stdout, process.stdout);
  const err = sink(io.stderr, process.stderr);
  const input = source(io.stdin);
  const stdinTty = io.stdin === 'inherit' && process.stdin.isTTY === true && req.interactive === true;
  const control = (msg: object) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };
  const onResize = () => {
    const size = windowSize();
    if (size.cols !== undefined) control({ type: 'resize', ...size });
  };
  return new Promise<number>((resolve, reject) => {
    let code: number | undefined;
    const cleanup = () => {
      input?.off('data', onData);
      input?.off('end', onEnd);
      if (input === process.stdin) process.stdin.pause();
      if (stdinTty) process.stdin.setRawMode(false);
      process.off('SIGWINCH', onResize);
    };
    const onData = (b: Buffer) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([Buffer.from([0]), b]));
    };
    const onEnd = () => control({ type: 'eof' });
    ws.on('open', () => {
      if (stdinTty) process.stdin.setRawMode(true);
      if (tty) process.on('SIGWINCH', onResize);
      if (input) {
        input.on('data', onData);
        input.on('end', onEnd);
        input.resume();
      } else onEnd();
    });
    ws.on('message', (data: Buffer, binary: boolean) => {
      if (binary) {
        if (data[0] === 1) out(data.subarray(1));
        else if (data[0] === 2) err(data.subarray(1));
        return;
      }
      const msg = JSON.parse(data.toString('utf8')) as { type?: string; code?: number };
      if (msg.type === 'exit' && typeof msg.code === 'number') code = msg.code;
    });
    ws.on('close', (closeCode, reason) => {
      cleanup();
      if (code !== undefined) resolve(code);
      else
        reject(
          new VsError(
            'NETWORK_FAILED',
            `the exec session on ${client.where} ended without an exit code (${closeCode}${reason.length > 0 ? ` ${reason.toString()}` : ''})`,
            'the command may still run in the guest; check with vserver ps',
          ),
        );
    });
    ws.on('error', (e) => {
      cleanup();
      reject(new VsError('NETWORK_FAILED', `exec session on ${client.where}: ${e.message}`, 'is the daemon still running?'));
    });
  });
}
