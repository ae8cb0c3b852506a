// The daemon's side of the dashboard: the bounded history, sessions and CSRF on the TCP listener,
// and the files it serves.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { History, MAX_GUESTS, TIERS } from '../../src/daemon/history.js';
import { buildServer } from '../../src/daemon/server.js';
import { Sessions } from '../../src/daemon/session.js';
import { listenTcp, parseListen } from '../../src/daemon/tcp.js';
import { Engine } from '../../src/engine/index.js';
import type { GuestMetrics } from '../../src/engine/metrics.js';
import { fakeHostFacts, FakeCgroups, FakeLxcfs, FakeRuntime } from '../helpers/fake-runtime.js';

/** A guest's counters at a moment: CPU seconds, network and disk bytes so far. */
const m = (name: string, cpuS: number, bytes: number, memory = 1000): GuestMetrics => ({
  name,
  context: 100,
  processes: 3,
  usage: {
    userUsec: cpuS * 1e6,
    systemUsec: 0,
    memoryBytes: memory,
    tasks: 3,
    ioReadBytes: bytes,
    ioWriteBytes: 2 * bytes,
  } as GuestMetrics['usage'],
  limits: { memoryMax: 4096 } as GuestMetrics['limits'],
  net: [
    { device: 'lo', rxBytes: 1e9, txBytes: 1e9, rxPackets: 0, txPackets: 0 },
    { device: 'eth0', rxBytes: bytes, txBytes: bytes / 2, rxPackets: 0, txPackets: 0 },
  ],
});

describe('the history', () => {
  it('turns counters into rates per second, leaving out loopback traffic', () => {
    const h = new History();
    h.add([m('a', 0, 0)], 1000);
    expect(h.range('a', '5m')).toEqual([]);
    h.add([m('a', 2.5, 5000, 2000)], 1005);
    expect(h.range('a', '5m')).toEqual([
      { t: 1005, cpu: 0.5, memory: 2000, memoryLimit: 4096, rx: 1000, tx: 500, read: 1000, write: 2000, processes: 3 },
    ]);
    // a restarted guest's counters start again from zero: no negative rate
    h.add([m('a', 1, 500)], 1010);
    expect(h.range('a', '5m').at(-1)).toMatchObject({ cpu: 0.2, rx: 100 });
  });

  it('keeps 5 minutes of samples, an hour of minute means and a day of 10-minute means, no more', () => {
    const h = new History();
    const t0 = 1_800_000_000;
    for (let i = 0; i <= (2 * 86400) / 5; i++) h.add([m('a', i, i * 100)], t0 + i * 5);
    const r5 = h.range('a', '5m');
    const r1 = h.range('a', '1h');
    const r24 = h.range('a', '24h');
    expect([r5.length, r1.length, r24.length]).toEqual([TIERS['5m'].points, TIERS['1h'].points, TIERS['24h'].points]);
    expect(r5.at(-1)!.t - r5[0]!.t).toBe(295);
    expect(r1.at(-1)!.t - r1[0]!.t).toBe(59 * 60);
    expect(r24.at(-1)!.t - r24[0]!.t).toBe(143 * 600);
    // a mean of 1 CPU-second per 5 s, and 100 bytes per 5 s
    expect(r24.at(-1)!.cpu).toBeCloseTo(0.2, 9);
    expect(r24.at(-1)).toMatchObject({ rx: 20, processes: 3 });
  });

  it('forgets guests not seen for a day, and the longest unseen first beyond its bound', () => {
    const h = new History();
    h.add([m('old', 0, 0)], 0);
    h.add([m('new', 0, 0)], 86400 + 1);
    expect(h.names()).toEqual(['new']);
    const many = Array.from({ length: MAX_GUESTS + 5 }, (_, i) => m(`g${i}`, 0, 0));
    h.add(many.slice(0, 5), 90000);
    h.add(many.slice(5), 90001);
    expect(h.names()).toHaveLength(MAX_GUESTS);
    expect(h.names()).not.toContain('g0');
    h.drop('g9');
    expect(h.range('g9', '5m')).toEqual([]);
  });
});

describe('sessions', () => {
  it('trade a token once, within 5 minutes, for a session that lapses after 12 idle hours', () => {
    let now = 0;
    const s = new Sessions(() => now);
    const { token } = s.mintToken();
    const a = s.login(token)!;
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(s.login(token)).toBeUndefined();
    expect(s.get(a.id)?.csrf).toBe(a.csrf);
    const late = s.mintToken().token;
    now += 5 * 60_000 + 1;
    expect(s.login(late)).toBeUndefined();
    now += 12 * 3600_000 + 1;
    expect(s.get(a.id)).toBeUndefined();
  });
});

describe('the TCP listener', () => {
  let root: string;
  let app: ReturnType<typeof buildServer>;
  let tcp: { server: Server; url: string };
  let rt: FakeRuntime;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'vsd-dash-'));
    chmodSync(root, 0o755);
    const files = join(root, 'files');
    mkdirSync(files);
    writeFileSync(join(files, 'index.html'), '<p>dashboard</p>');
    writeFileSync(join(files, 'index.html.gz'), gzipSync('<p>dashboard</p>'));
    writeFileSync(join(files, 'main-ABC.js'), 'console.log(1)');
    rt = new FakeRuntime();
    const engine = new Engine(root, { runtime: rt, cgroups: new FakeCgroups(), hostFacts: fakeHostFacts, lxcfs: new FakeLxcfs() });
    app = buildServer(engine, { dashboard: { dir: files, publicUrl: () => tcp?.url } });
    await app.ready();
    tcp = await listenTcp(app, '127.0.0.1', 0);
  });
  afterEach(async () => {
    tcp.server.closeAllConnections();
    tcp.server.close();
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  const call = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
    new Promise<{ status: number; json: any; headers: Record<string, unknown> }>((resolve, reject) => {
      const u = new URL(path, tcp.url);
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          method,
          path: u.pathname + u.search,
          headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        },
        (res) => {
          let t = '';
          res.on('data', (d) => (t += d));
          res.on('end', () => {
            let j: unknown;
            try {
              j = JSON.parse(t);
            } catch {
              j = t;
            }
            resolve({ status: res.statusCode!, json: j, headers: res.headers });
          });
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });

  it('serves the page without a session, and nothing else', async () => {
    expect(await call('GET', '/dashboard/')).toMatchObject({
      status: 200,
      json: '<p>dashboard</p>',
      headers: { 'cache-control': 'no-cache', 'content-security-policy': expect.stringContaining("default-src 'self'") },
    });
    expect((await call('GET', '/dashboard/main-ABC.js')).headers['cache-control']).toContain('immutable');
    expect((await call('GET', '/dashboard/index.html', { 'accept-encoding': 'gzip' })).headers['content-encoding']).toBe('gzip');
    expect((await call('GET', '/dashboard/..%2f..%2fpackage.json')).status).toBe(404);
    expect(await call('GET', '/1.0/guests')).toMatchObject({ status: 401, json: { code: 'UNAUTHORIZED' } });
    expect((await call('GET', '/metrics')).status).toBe(401);
    // the same route on the Unix socket (here: in process) is trusted
    expect((await app.inject('/1.0/guests')).statusCode).toBe(200);
  });

  it('mints tokens on the socket only; a token logs in once; state changes need the CSRF header and our Origin', async () => {
    expect((await call('POST', '/1.0/dashboard/tokens')).status).toBe(401);
    const minted = (await app.inject({ method: 'POST', url: '/1.0/dashboard/tokens' })).json() as { token: string; url: string };
    expect(minted.url).toBe(`${tcp.url}/dashboard/#token=${minted.token}`);
    expect((await call('POST', '/1.0/dashboard/login', { origin: 'http://evil.example' }, { token: minted.token })).status).toBe(403);
    const login = await call('POST', '/1.0/dashboard/login', { origin: tcp.url }, { token: minted.token });
    expect(login.status).toBe(200);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/^vserver_session=[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect((await call('POST', '/1.0/dashboard/login', {}, { token: minted.token })).json).toMatchObject({
      code: 'UNAUTHORIZED',
      error: expect.stringContaining('already used'),
    });
    const cookie = setCookie.split(';')[0]!;
    const csrf = login.json.csrf as string;
    expect((await call('GET', '/1.0/guests', { cookie })).status).toBe(200);
    expect((await call('GET', '/1.0/dashboard/session', { cookie })).json).toEqual({ csrf });
    const body = { action: 'start', names: ['nosuch'] };
    expect((await call('PUT', '/1.0/guests/state', { cookie, origin: tcp.url }, body)).status).toBe(403);
    expect(
      (await call('PUT', '/1.0/guests/state', { cookie, 'x-vserver-csrf': 'x'.repeat(csrf.length), origin: tcp.url }, body)).status,
    ).toBe(403);
    expect((await call('PUT', '/1.0/guests/state', { cookie, 'x-vserver-csrf': csrf }, body)).status).toBe(403);
    expect((await call('PUT', '/1.0/guests/state', { cookie, 'x-vserver-csrf': csrf, origin: 'http://evil.example' }, body)).status).toBe(
      403,
    );
    // control: the header and our Origin together get through
    expect((await call('PUT', '/1.0/guests/state', { cookie, 'x-vserver-csrf': csrf, origin: tcp.url }, body)).json).toMatchObject({
      failed: 1,
      results: [{ name: 'nosuch', code: 'NOT_FOUND' }],
    });
    expect((await call('DELETE', '/1.0/dashboard/session', { cookie, 'x-vserver-csrf': csrf, origin: tcp.url })).status).toBe(204);
    expect((await call('GET', '/1.0/guests', { cookie })).status).toBe(401);
  });

  it('answers history for known guests only, in the ranges it keeps', async () => {
    mkdirSync(join(root, 'etc/vserver/guests'), { recursive: true });
    writeFileSync(join(root, 'etc/vserver/guests/a.toml'), 'context = 100\ninit = "cmd"\ncmd = ["/bin/sh"]\n');
    expect((await app.inject('/1.0/guests/a/history?range=1h')).json()).toEqual({ name: 'a', range: '1h', step: 60, points: [] });
    expect((await app.inject('/1.0/guests/nosuch/history')).statusCode).toBe(404);
    expect((await app.inject('/1.0/guests/a/history?range=7d')).statusCode).toBe(400);
    expect((await app.inject('/1.0/history')).json()).toMatchObject({ range: '5m', step: 5, guests: {} });
  });

  it('drops the history of a guest deleted through the API', async () => {
    mkdirSync(join(root, 'etc/vserver/guests'), { recursive: true });
    mkdirSync(join(root, 'var/lib/vserver/guests/a/rootfs'), { recursive: true });
    writeFileSync(join(root, 'etc/vserver/guests/a.toml'), 'context = 100\ninit = "cmd"\ncmd = ["/bin/sh"]\n');
    expect((await app.inject({ method: 'PUT', url: '/1.0/guests/a/state', payload: { action: 'start' } })).statusCode).toBe(200);
    // the sampler runs every 5 s: two samples make the first point
    await expect
      .poll(async () => ((await app.inject('/1.0/history')).json() as { guests: Record<string, unknown[]> }).guests.a?.length ?? 0, {
        timeout: 15_000,
        interval: 500,
      })
      .toBeGreaterThan(0);
    // the guest's init ends (the fake runtime has no processes to kill), then it is deleted
    for (const c of await rt.list()) await rt.delete(c.id);
    const del = await app.inject({ method: 'DELETE', url: '/1.0/guests/a' });
    expect(del.statusCode, del.body).toBe(204);
    expect(((await app.inject('/1.0/history')).json() as { guests: Record<string, unknown> }).guests).toEqual({});
  }, 30_000);

  it('mints no link while the daemon has no TCP listener, and says how to add one', async () => {
    const engine = new Engine(root, {
      runtime: new FakeRuntime(),
      cgroups: new FakeCgroups(),
      hostFacts: fakeHostFacts,
      lxcfs: new FakeLxcfs(),
    });
    const bare = buildServer(engine);
    try {
      expect((await bare.inject({ method: 'POST', url: '/1.0/dashboard/tokens' })).json()).toMatchObject({
        code: 'UNSUPPORTED',
        hint: expect.stringContaining('--listen 127.0.0.1:8443'),
      });
    } finally {
      await bare.close();
    }
  });

  it('listens on loopback only, without TLS', () => {
    expect(parseListen('127.0.0.1:8443')).toEqual({ host: '127.0.0.1', port: 8443 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(() => parseListen('0.0.0.0:8443')).toThrow(/could be read on the network/);
    expect(() => parseListen('8443')).toThrow(/bad listen address/);
  });
});
