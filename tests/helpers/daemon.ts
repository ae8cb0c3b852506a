// vserverd for system tests: started on a test root's socket, and its API and WebSockets over it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import WebSocket from 'ws';
import { selfSignedArgs } from '../../src/daemon/tls.js';
import type { TestRoot } from './host.js';

export const DAEMON = join(__dirname, '../../dist/vserverd.cjs');

/** Starts the daemon and resolves once it listens. */
export function startDaemon(t: TestRoot): Promise<ChildProcess> {
  return new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(process.execPath, [DAEMON, '--foreground'], { env: t.env(), stdio: ['ignore', 'ignore', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('vserverd did not start'));
    }, 20_000);
    child.stderr!.on('data', (b: Buffer) => {
      if (b.toString().includes('listening on')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (c) => {
      clearTimeout(timer);
      reject(new Error(`vserverd exited ${c}`));
    });
  });
}

export const socketOf = (t: TestRoot): string => join(t.paths.run, 'vserverd.sock');

/** One JSON request on the daemon's socket. */
export function api(t: TestRoot, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: socketOf(t), method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' }, timeout: 60_000 },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, json: text === '' ? undefined : JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** A WebSocket to PATH on the daemon's socket, open. */
/** Frames that came before anyone listened: the daemon may send them in the same read as its upgrade. */
const early = new WeakMap<WebSocket, { frames: [Buffer, boolean][]; keep: (d: Buffer, binary: boolean) => void }>();

export function openSocket(t: TestRoot, path: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws+unix://${socketOf(t)}:${path}`);
    const frames: [Buffer, boolean][] = [];
    const keep = (d: Buffer, binary: boolean) => {
      frames.push([d, binary]);
    };
    ws.on('message', keep);
    early.set(ws, { frames, keep });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

export interface ExecRun {
  /** Output by channel (1 stdout, 2 stderr). */
  out: Record<number, string>;
  exit?: { code: number };
  close?: number;
}

/** Feeds an exec socket and collects what comes back until it closes. */
export function execSocket(ws: WebSocket, run: ExecRun = { out: { 1: '', 2: '' } }): Promise<ExecRun> {
  return new Promise((resolve) => {
    const take = (d: Buffer, binary: boolean) => {
      if (binary) run.out[d[0]!] = (run.out[d[0]!] ?? '') + d.subarray(1).toString();
      else run.exit = JSON.parse(d.toString()) as { code: number };
    };
    const before = early.get(ws);
    if (before) {
      ws.off('message', before.keep);
      for (const [d, binary] of before.frames.splice(0)) take(d, binary);
    }
    ws.on('message', take);
    ws.on('close', (code: number) => {
      run.close = code;
      resolve(run);
    });
  });
}

export const stdin = (text: string): Buffer => Buffer.concat([Buffer.of(0), Buffer.from(text)]);

export interface ClientCert {
  cert: Buffer;
  key: Buffer;
  /** SHA-256, as openssl prints it (not by the daemon's own code, which the tests judge). */
  fingerprint: string;
}

/** A client key and self-signed certificate in dir, made the way the daemon makes its own. */
export function clientCert(dir: string, name: string): ClientCert {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  execFileSync('openssl', selfSignedArgs(key, crt, { days: 1, subject: `/CN=${name}` }), { stdio: 'ignore' });
  const fp = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', crt]).toString().trim().split('=')[1]!;
  return { cert: readFileSync(crt), key: readFileSync(key), fingerprint: fp };
}
