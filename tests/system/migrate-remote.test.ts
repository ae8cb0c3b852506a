// vserver migrate NAME REMOTE: the same migration as over ssh, but its commands and data go over the
// target daemon's TLS API (token, pinned certificate). The route runs only the receive protocol and
// rsync's server into an active receive's staging directory; a cut link leaves the source running.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { which } from '../../src/util/which.js';
import { until } from '../helpers/guests.js';
import { CLI, IS_ROOT } from '../helpers/host.js';
import * as mig from '../helpers/migrate.js';
import { TwoHosts } from '../helpers/two-hosts.js';

const TOOLS = ['rsync', 'sshd', 'ssh-keygen'].filter((t) => !which(t) && !which(`/usr/sbin/${t}`));

/** The promise's value, or a failure saying what did not come within ms. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_r, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms).unref())]);
}

/** Our relays to the target (migrate's receiver and rsync's -e), as process ids. */
function relays(root: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      const c = mig.readCmdline(p);
      return c.includes(' __relay ') && c.includes(root);
    })
    .map(Number);
}

describe.skipIf(!IS_ROOT || TOOLS.length > 0)('vserver migrate to a remote', { timeout: 600_000 }, () => {
  const h = new TwoHosts('rmig');
  const { source, target } = h;
  const relayArgv = (remote: string) => [process.execPath, CLI, '__relay', source.root, remote];

  beforeAll(async () => {
    await h.setup();
    await h.startDaemon('dst');
    await source.ok(['build', 'web', '--init', 'cmd', '--', '/bin/sh', '-c', mig.COUNTER]);
    await source.ok(['start', 'web']);
  }, 180_000);

  afterEach(() => {
    for (const c of mig.children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  afterAll(() => h.cleanup(), 120_000);

  /** The target's receive (in its daemon) has ended and taken back its staging, or the daemon is gone; then nothing is left. */
  async function targetClean(): Promise<void> {
    await until(
      async () => h.targetStaging().length === 0 || h.daemon?.exitCode !== null || h.daemon?.signalCode !== null,
      'the receive on the target to end',
      60_000,
    );
    await mig.targetHoldsNothing(h, []);
  }

  it('an unknown remote is refused with how to add one', async () => {
    const r = await source.cli(['migrate', 'web', 'nowhere']);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/'nowhere' is not a migration target: no remote of that name \(remotes: dst\)/);
    expect(r.stderr).toMatch(/vserver remote add nowhere https:\/\/HOST:PORT --token TOKEN --cert-fingerprint SHA256/);
    expect((await mig.info(source, 'web')).state).toBe('running');
  });

  it('the route runs rsync only into the staging directory of an active receive, and only for a client with credentials', async () => {
    // a receive as migrate opens it, for a guest 'probe' made here (stopped)
    await source.ok(['build', 'probe']);
    const ids = { base: (await mig.info(source, 'probe')).idmap!.base, size: 65536 };
    const recv = spawn('nsenter', [`--net=${h.srcNs.path}`, '--', ...relayArgv('dst'), 'vserverd', 'receive', 'probe'], {
      env: source.env(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    mig.children.push(recv);
    const lines = createInterface({ input: recv.stdout! })[Symbol.asyncIterator]();
    recv.stdin!.write(
      `${JSON.stringify({ op: 'hello', config: readFileSync(source.paths.guestConfig('probe'), 'utf8'), ids, devices: false })}\n`,
    );
    let log = '';
    recv.stderr!.on('data', (b: Buffer) => {
      log += b.toString();
    });
    const exited = new Promise((r) => recv.once('exit', r));
    const first = await within(lines.next(), 60_000, "the receive's answer");
    const hello = JSON.parse(first.value as string) as { ok: boolean; staging: string };
    expect(hello.ok, log).toBe(true);
    const src = join(h.dir, 'payload');
    mkdirSync(src);
    writeFileSync(join(src, 'file'), 'payload\n');
    const rsyncInto = (remote: string, dest: string) =>
      h.srcNs.exec('rsync', ['-rt', '--timeout=10', '-e', relayArgv(remote).join(' '), `${src}/`, `vserverd:${dest}/`], 60_000);

    // refused: into /etc, with the same credentials and the same request shape
    const etc = await rsyncInto('dst', '/etc/vst-rmig');
    expect(etc.code, etc.stderr).not.toBe(0);
    expect(etc.stderr).toMatch(/does not run rsync into \/etc\/vst-rmig\/ \(not the staging directory of an active receive\)/);
    expect(existsSync('/etc/vst-rmig')).toBe(false);
    // refused: any other command
    const sh = await h.srcNs.exec(process.execPath, [...relayArgv('dst').slice(1), 'vserverd', 'sh', '-c', 'id'], 30_000);
    expect(sh.code).toBe(25);
    expect(sh.stderr).toMatch(/the migration route does not run \["sh","-c","id"\]/);
    // refused: no token
    await source.ok(['remote', 'add', 'anon', readRemoteUrl(), '--cert-fingerprint', readRemoteFingerprint()]);
    const anon = await rsyncInto('anon', join(hello.staging, 'rootfs'));
    expect(anon.code).not.toBe(0);
    expect(anon.stderr).toMatch(/this request carries no credentials the daemon accepts/);
    expect(existsSync(join(hello.staging, 'rootfs', 'file'))).toBe(false);
    // the control: the same request into the staging directory goes through
    const ok = await rsyncInto('dst', join(hello.staging, 'rootfs'));
    expect(ok.code, ok.stderr).toBe(0);
    expect(readFileSync(join(hello.staging, 'rootfs', 'file'), 'utf8')).toBe('payload\n');

    // the source goes away: the receive takes back what it staged, and the directory is closed again
    recv.stdin!.end();
    await within(exited, 60_000, 'end of the receive');
    await targetClean();
    const late = await rsyncInto('dst', join(hello.staging, 'rootfs'));
    expect(late.code).not.toBe(0);
    expect(late.stderr).toMatch(/not the staging directory of an active receive/);
    await source.ok(['remote', 'remove', 'anon']);
    await source.ok(['delete', 'probe']);
  });

  it('a relay killed during the pre-copy: the guest runs on here, the target keeps nothing', async () => {
    const m = mig.migrateUntil(h, 'web', 'migrate:precopy', 'SIGSTOP', ['migrate', 'web', 'dst']);
    await m.stopped();
    const mine = relays(source.root);
    expect(mine.length).toBeGreaterThan(0);
    for (const p of mine) process.kill(p, 'SIGKILL');
    process.kill(m.pid, 'SIGCONT');
    const end = await m.exited;
    expect(end.code, m.stderr()).not.toBe(0);
    expect(m.stderr()).toMatch(/migrating guest 'web' to dst failed/);
    expect(m.stderr()).toMatch(/the guest runs here again/);
    await mig.sourceRunsOn(h);
    await targetClean();
  });

  it('the target daemon closed during the final copy: the guest is thawed here, the target keeps nothing', async () => {
    const m = mig.migrateUntil(h, 'web', 'migrate:frozen', 'SIGSTOP', ['migrate', 'web', 'dst']);
    await m.stopped();
    await mig.expectFrozen(h);
    await h.stopDaemon();
    process.kill(m.pid, 'SIGCONT');
    const end = await m.exited;
    expect(end.code, m.stderr()).not.toBe(0);
    expect(m.stderr()).toMatch(/the guest runs here again \(thawed\)/);
    await mig.sourceRunsOn(h);
    await targetClean();
    // the daemon back (with its certificate kept) and the remote added again with a new token
    await source.ok(['remote', 'remove', 'dst']);
    await target.ok(['token', 'revoke', 'dst']);
    await h.startDaemon('dst');
  });

  it('moves a running guest over the API: it runs there with every counter value, and is gone here', async () => {
    const before = await mig.lastCount(source, 'web');
    const r = await source.cli(['migrate', 'web', 'dst']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/migrated guest web to dst \(context \d+ there\)/);
    expect(r.stdout).toMatch(/downtime +\d+(\.\d+)? s/);
    expect(r.stdout).toMatch(/source +removed/);
    expect(await mig.guests(source)).not.toContain('web');
    expect((await mig.info(target, 'web')).state).toBe('running');
    await until(async () => (await mig.lastCount(target, 'web')) > before + 5, 'the counter to go on on the target');
    mig.checkCounter(readFileSync(join(target.paths.rootfs('web'), 'counter'), 'utf8'));
    expect(relays(source.root)).toEqual([]);
  });

  /** The URL and fingerprint of remote dst, for a second remote to the same daemon. */
  function readRemoteUrl(): string {
    return /url = "([^"]+)"/.exec(readFileSync(join(source.paths.etc, 'remotes.toml'), 'utf8'))![1]!;
  }
  function readRemoteFingerprint(): string {
    return /cert_fingerprint = "([^"]+)"/.exec(readFileSync(join(source.paths.etc, 'remotes.toml'), 'utf8'))![1]!;
  }
});
