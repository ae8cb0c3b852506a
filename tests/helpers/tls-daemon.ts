// vserverd with its HTTPS listener on loopback, and a named remote of the CLI pointing at it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { DAEMON } from './daemon.js';
import type { TestRoot } from './host.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

/**
 * Starts the daemon on a free loopback port (or on `at`, an address of its root's network namespace);
 * the remote `name` of `client` (default: the same root) then reaches it with a token and its pinned certificate.
 */
export async function startTlsDaemon(
  t: TestRoot,
  name: string,
  at?: { host: string; port: number; client: TestRoot },
): Promise<ChildProcess> {
  const host = at?.host ?? '127.0.0.1';
  const port = at?.port ?? (await freePort());
  mkdirSync(t.paths.etc, { recursive: true });
  writeFileSync(t.paths.hostConfig, `[api]\nlisten = "${host}:${port}"\n`);
  const [file, args] =
    t.netns === undefined ? [process.execPath, [DAEMON]] : ['nsenter', [`--net=/run/netns/${t.netns}`, '--', process.execPath, DAEMON]];
  const daemon = spawn(file, [...args, '--foreground'], { env: t.env(), stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const fingerprint = await new Promise<string>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`vserverd did not listen on HTTPS: ${log}`)), 20_000);
      daemon.stderr!.on('data', (b: Buffer) => {
        log += b.toString();
        const m = /listening on https:.*certificate sha256 (\S+)\)/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      daemon.once('exit', (c) => {
        clearTimeout(timer);
        reject(new Error(`vserverd exited ${c}: ${log}`));
      });
    });
    const token = (await t.ok(['token', 'create', '--name', name])).trim();
    await (at?.client ?? t).ok(['remote', 'add', name, `https://${host}:${port}`, '--token', token, '--cert-fingerprint', fingerprint]);
    return daemon;
  } catch (e) {
    await stopDaemon(daemon);
    throw e;
  }
}

/** Stops a daemon and waits until it is gone. */
export async function stopDaemon(daemon: ChildProcess | undefined): Promise<void> {
  if (!daemon || daemon.exitCode !== null || daemon.signalCode !== null) return;
  const gone = new Promise((r) => daemon.once('exit', r));
  daemon.kill('SIGTERM');
  await gone;
}
