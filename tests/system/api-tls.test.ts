// vserverd's HTTPS listener on loopback with real guests: tokens, client certificates, builds as
// operations (a tarball upload and its cancel among them), and `vserver --remote` against local.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/remote/client.js';
import { IS_ROOT, TestRoot } from '../helpers/host.js';
import { clientCert, DAEMON, type ClientCert } from '../helpers/daemon.js';
import { until } from '../helpers/guests.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

describe.skipIf(!IS_ROOT)('vserverd over HTTPS', () => {
  const t = new TestRoot('vsapi');
  let daemon: ChildProcess | undefined;
  let port = 0;
  let fingerprint = '';
  let token = '';
  let serverCa: Buffer;
  let api: ApiClient;
  const certs: Record<string, ClientCert> = {};

  const raw = (path: string, opts: { token?: string; client?: string } = {}) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const c = opts.client ? certs[opts.client]! : undefined;
      request(
        {
          host: '127.0.0.1',
          port,
          path,
          ca: serverCa,
          servername: 'localhost',
          ...(c ? { cert: c.cert, key: c.key } : {}),
          headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
        },
        (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve({ status: res.statusCode!, body: b === '' ? undefined : JSON.parse(b) }));
        },
      )
        .on('error', reject)
        .end();
    });

  const waitOp = async (id: string) => {
    for (;;) {
      const v = await api.call<{ status: string; error?: unknown; result?: any }>('GET', `/1.0/operations/${id}/wait?timeout=10`);
      if (v.status !== 'running') return v;
    }
  };

  beforeAll(async () => {
    port = await freePort();
    const dir = join(t.root, 'client');
    mkdirSync(dir, { recursive: true });
    for (const name of ['trusted', 'stranger']) certs[name] = clientCert(dir, name);
    mkdirSync(t.paths.etc, { recursive: true });
    writeFileSync(t.paths.hostConfig, `[api]\nlisten = "127.0.0.1:${port}"\ntrusted_certs = ["${certs.trusted!.fingerprint}"]\n`);
    daemon = spawn(process.execPath, [DAEMON, '--foreground'], { env: t.env(), stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    daemon.stderr!.on('data', (b: Buffer) => {
      log += b.toString();
    });
    await until(async () => /listening on https/.test(log), 'vserverd to listen on HTTPS', 20_000);
    fingerprint = /certificate sha256 (\S+)\)/.exec(log)![1]!;
    serverCa = readFileSync(join(t.paths.lib, 'api/server.crt'));
    token = (await t.ok(['token', 'create', '--name', 'sys'])).trim();
    api = new ApiClient({ url: `https://127.0.0.1:${port}`, token, cert_fingerprint: fingerprint });
    await t.ok(['remote', 'add', 'here', `https://127.0.0.1:${port}`, '--token', token, '--cert-fingerprint', fingerprint]);
  }, 60_000);
  afterAll(async () => {
    daemon?.kill('SIGTERM');
    if (daemon && daemon.exitCode === null) await new Promise((r) => daemon!.once('exit', r));
    await t.cleanup();
  });

  it('answers 401 without credentials or with a client certificate it does not trust; a token or a trusted certificate gets in', async () => {
    expect(await raw('/1.0/guests')).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } });
    expect(await raw('/1.0/guests', { client: 'stranger' })).toMatchObject({ status: 401 });
    expect(await raw('/1.0/guests', { token })).toEqual({ status: 200, body: [] });
    expect(await raw('/1.0/guests', { client: 'trusted' })).toEqual({ status: 200, body: [] });
    // the token store and the remotes file are root's alone
    expect(
      execFileSync('stat', ['-c', '%a', join(t.paths.lib, 'api/tokens.json'), join(t.paths.etc, 'remotes.toml')])
        .toString()
        .split('\n')
        .filter(Boolean),
    ).toEqual(['600', '600']);
  });

  it('builds, starts, stops and deletes a guest through the TLS listener', async () => {
    const op = await api.call<{ id: string }>('POST', '/1.0/guests', { name: 'w1', source: { kind: 'busybox' } });
    expect(await waitOp(op.id)).toMatchObject({ status: 'success', result: { name: 'w1', context: expect.any(Number) } });
    expect(await api.call('PUT', '/1.0/guests/w1/state', { action: 'start' })).toMatchObject({ name: 'w1', state: 'running' });
    expect((await t.ok(['exec', 'w1', '--', 'hostname'])).trim()).toBe('w1');
    expect(await api.call('PUT', '/1.0/guests/w1/state', { action: 'stop', timeout: 1 })).toMatchObject({ state: 'stopped' });
    expect(await api.call('DELETE', '/1.0/guests/w1')).toBeUndefined();
    expect(JSON.parse(await t.ok(['list', '--json']))).toEqual([]);
  }, 120_000);

  it('builds from an uploaded tarball, and a cancelled upload leaves no half guest', async () => {
    await t.ok(['build', 'src1']);
    const tar = execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', t.paths.rootfs('src1'), '-czf', '-', '.'], {
      maxBuffer: 1 << 28,
    });
    const body = new PassThrough();
    const posted = api.call<{ id: string }>('POST', '/1.0/guests?name=up1&hostname=uploaded', undefined, {
      stream: body,
      contentType: 'application/gzip',
    });
    body.end(tar);
    const op = await posted;
    expect(await waitOp(op.id)).toMatchObject({ status: 'success', result: { name: 'up1' } });
    await t.ok(['start', 'up1']);
    expect((await t.ok(['exec', 'up1', '--', 'hostname'])).trim()).toBe('uploaded');
    await t.ok(['stop', 'up1', '--timeout', '1']);

    // half the archive, then nothing: the build waits on the upload until it is cancelled
    const slow = new PassThrough();
    const hanging = api
      .call('POST', '/1.0/guests?name=up2', undefined, { stream: slow, contentType: 'application/gzip' })
      .catch((e: unknown) => e);
    slow.write(tar.subarray(0, tar.length >> 1));
    let running: { id: string } | undefined;
    await until(async () => {
      running = (await api.call<{ id: string; status: string }[]>('GET', '/1.0/operations')).find((o) => o.status === 'running');
      return running !== undefined;
    }, 'the upload build to be under way');
    expect(await api.call('DELETE', `/1.0/operations/${running!.id}`)).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
    slow.destroy();
    await hanging;
    expect(existsSync(t.paths.guestConfig('up2'))).toBe(false);
    expect(readdirSync(t.paths.guestsDir).sort()).toEqual(['src1', 'up1']);
    expect((await t.cli(['status', 'up2'])).code).toBe(4);
  }, 180_000);

  /** The verb's output with the times that move between two runs made equal. */
  const steady = (s: string) =>
    s
      .replace(/"uptime":[0-9.]+/g, '"uptime":T')
      .replace(/\d+m\d\ds\d\d|\d+h\d\dm\d\d/g, 'T')
      .replace(/used \S+ user, \S+ sys/, 'used X')
      .replace(/^ {2}(memory|io|processes|pids) .*$/gm, '');
  const both = async (args: string[]) => {
    const local = await t.cli(args);
    const remote = await t.cli(['--remote', 'here', ...args]);
    const unix = await t.cli(args, { env: { VSERVER_REMOTE: `unix:${join(t.paths.run, 'vserverd.sock')}` } });
    return {
      local: { ...local, stdout: steady(local.stdout) },
      remote: { ...remote, stdout: steady(remote.stdout) },
      unix: { ...unix, stdout: steady(unix.stdout) },
    };
  };

  it('runs list, start, status and stop through --remote with the output and exit codes of local runs', async () => {
    await t.ok(['build', 'r1']);
    const started = await t.cli(['--remote', 'here', 'start', 'r1']);
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^started guest r1\n/);
    for (const args of [
      ['list'],
      ['list', '--json'],
      ['status', 'r1'],
      ['start', 'r1'],
      ['status', 'nosuch'],
      ['running', 'r1'],
      ['status', 'Bad_Name'],
    ]) {
      const r = await both(args);
      expect(r.remote, args.join(' ')).toEqual(r.local);
      expect(r.unix, args.join(' ')).toEqual(r.local);
    }
    expect((await both(['start', 'r1'])).remote.code).toBe(6);
    const stopped = await t.cli(['--remote', 'here', 'stop', 'r1', '--timeout', '1']);
    expect(stopped).toEqual({ code: 0, stdout: 'stopped guest r1\n', stderr: '' });
    for (const args of [
      ['status', 'r1'],
      ['status', 'r1', '--json'],
      ['stop', 'r1'],
      ['running', 'r1'],
      ['config', 'r1'],
      ['config', 'r1', 'hostname'],
      ['config', 'r1', 'nosuch'],
      ['config', 'r1', 'stop_timeout', 'soon'],
    ]) {
      const r = await both(args);
      expect(r.remote, args.join(' ')).toEqual(r.local);
    }
    expect((await both(['status', 'r1'])).remote.code).toBe(3);
    expect(await t.cli(['--remote', 'here', 'config', 'r1', 'stop_timeout', '7'])).toMatchObject({ code: 0 });
    expect((await t.ok(['config', 'r1', 'stop_timeout'])).trim()).toBe('7');
    // a verb the API does not serve says so, with its own exit code
    expect(await t.cli(['--remote', 'here', 'gc'])).toMatchObject({
      code: 19,
      stderr: expect.stringMatching(/'vserver gc' does not run through --remote/),
    });
  }, 180_000);
});
