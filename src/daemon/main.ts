// vserverd: serves the engine over HTTP on a Unix socket (run/vserver/vserverd.sock under the root
// prefix). Guests never depend on it: it keeps nothing the files and the runtime do not.
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Engine } from '../engine/index.js';
import { toVsError, VsError } from '../util/errors.js';
import { buildServer } from './server.js';
import { GuestWatch } from './guest-watch.js';
import { helperPath } from '../util/helpers.js';
import { Tracker } from './tracker.js';
import { listenTls, serverCert, splitListen } from './tls.js';
import { apiConfig } from '../guest/api-schema.js';
import { listenTcp, parseListen } from './tcp.js';
import { SpawnSlots } from './spawn-slots.js';
import { launcherInUse, useLauncher } from '../util/proc.js';

/** The gid of group `vserver`, whose members may use the socket, if the host has it. */
function vserverGroup(): number | undefined {
  try {
    const line = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('vserver:'));
    const gid = line === undefined ? NaN : Number(line.split(':')[2]);
    return Number.isInteger(gid) ? gid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a daemon answers on the socket; a socket file nobody listens on is stale. */
function listening(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(sock);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** Spawn slots for the daemon's programs; without the helper they are forked as the CLI does, and that is said. */
function startSlots(): SpawnSlots | undefined {
  try {
    const slots = new SpawnSlots(helperPath('spawn-slot'), launcherInUse());
    slots.fill();
    useLauncher(slots.launcher);
    return slots;
  } catch (e) {
    const err = toVsError(e);
    process.stderr.write(`vserverd: warning: programs are forked from the daemon (slower exec): ${err.message}\n  ${err.hint ?? ''}\n`);
    return undefined;
  }
}

export async function main(argv: string[]): Promise<number> {
  const rootAt = argv.indexOf('--root');
  const root = rootAt >= 0 ? argv[rootAt + 1] : (process.env.VSERVER_ROOT ?? '/');
  const listenAt = argv.indexOf('--listen');
  const listen = listenAt >= 0 ? parseListen(argv[listenAt + 1] ?? '') : undefined;
  const unknown = argv.filter(
    (a, i) =>
      a !== '--foreground' &&
      a !== '--root' &&
      !(i === rootAt + 1 && rootAt >= 0) &&
      a !== '--listen' &&
      !(i === listenAt + 1 && listenAt >= 0),
  );
  if (root === undefined || unknown.length > 0) {
    process.stderr.write(
      `vserverd: unknown argument '${unknown[0] ?? '--root'}'\n  usage: vserverd [--foreground] [--root DIR] [--listen HOST:PORT]\n`,
    );
    return 2;
  }
  const engine = new Engine(root);
  const sock = join(engine.deps.paths.run, 'vserverd.sock');
  mkdirSync(engine.deps.paths.run, { recursive: true, mode: 0o755 });
  if (await listening(sock)) throw new VsError('BUSY', `vserverd already runs for ${root} (${sock} answers)`, 'stop that one first');
  rmSync(sock, { force: true });
  // what the CLI in other processes and the kernel do to guests is learnt from inotify and pidfds
  let watcher: GuestWatch | undefined;
  try {
    watcher = new GuestWatch(helperPath('guest-watch'));
  } catch (e) {
    // the API works without it; only died and oom events are missing, and that is said once here
    const err = toVsError(e);
    process.stderr.write(`vserverd: warning: no died or oom events: ${err.message}\n  ${err.hint ?? ''}\n`);
  }
  // after the engine set the umask: a slot's programs inherit what the slot was forked with
  const slots = startSlots();
  const tracker = new Tracker(engine, watcher);
  await tracker.start();
  const api = apiConfig(engine.deps.host().api);
  let tcpUrl: string | undefined;
  const app = buildServer(engine, {
    events: tracker.events,
    bodyLimit: api.body_limit,
    uploadLimit: api.upload_limit,
    // the dashboard's login link: the HTTPS listener when there is one, else the loopback --listen
    dashboard: { publicUrl: () => (api.listen !== undefined ? `https://${api.listen}` : tcpUrl) },
  });
  await app.listen({ path: sock });
  const tcp = listen === undefined ? undefined : await listenTcp(app, listen.host, listen.port);
  tcpUrl = tcp?.url;
  // access to the socket is as strong as root: root and the group vserver only
  const gid = vserverGroup();
  if (gid !== undefined) chownSync(sock, 0, gid);
  chmodSync(sock, 0o660);
  process.stderr.write(`vserverd: listening on ${sock}${tcp ? ` and ${tcp.url} (dashboard: vserver dashboard)` : ''}\n`);
  // [api] listen: HTTPS for other machines and users, with tokens or trusted client certificates
  const cert = api.listen === undefined ? undefined : await serverCert(engine.deps.paths, splitListen(api.listen).host);
  const tls = api.listen === undefined || cert === undefined ? undefined : await listenTls(app, api.listen, cert);
  if (cert) process.stderr.write(`vserverd: listening on https://${api.listen} (certificate sha256 ${cert.fingerprint})\n`);
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve());
  });
  tracker.close();
  slots?.close();
  tls?.close();
  tls?.closeAllConnections();
  tcp?.server.closeAllConnections();
  tcp?.server.close();
  await app.close();
  rmSync(sock, { force: true });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const err = toVsError(e);
    process.stderr.write(`vserverd: ${err.message}${err.hint ? `\n  ${err.hint}` : ''}\n`);
    process.exitCode = err.exitCode;
  },
);
