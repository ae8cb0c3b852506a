// A vserverd on loopback TCP for the dashboard's tests and benchmark, and headless Chromium.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { TestRoot } from './host.js';

export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
const DAEMON = join(__dirname, '../../dist/vserverd.cjs');

/** Starts vserverd for the root with a TCP listener on a free loopback port; resolves with its base URL. */
export function startDaemon(t: TestRoot): Promise<{ daemon: ChildProcess; base: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DAEMON, '--foreground', '--listen', '127.0.0.1:0'], {
      env: t.env(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('vserverd did not start'));
    }, 20_000);
    let err = '';
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      const m = / and (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ daemon: child, base: m[1]! });
      }
    });
    child.once('exit', (c) => {
      clearTimeout(timer);
      reject(new Error(`vserverd exited ${c}: ${err}`));
    });
  });
}

/** Stops the daemon and waits for it to go. */
export async function stopDaemon(d: ChildProcess | undefined): Promise<void> {
  if (d === undefined || d.exitCode !== null) return;
  const gone = new Promise((r) => d.once('exit', r));
  d.kill('SIGTERM');
  await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
  if (d.exitCode === null) d.kill('SIGKILL');
}

export interface Answer {
  status: number;
  json: any;
  headers: Record<string, string | string[] | undefined>;
}

/** One HTTP request to the TCP listener with the given headers (no browser, so no cookie unless given). */
export function http(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path: u.pathname + u.search,
        timeout: 30_000,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode!, json, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Chromium's arguments: root needs --no-sandbox; nothing leaves the machine. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
