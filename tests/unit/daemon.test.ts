// The API in process (inject, no socket): every route, and every way a request can be wrong.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/daemon/server.js';
import { Engine } from '../../src/engine/index.js';
import { fakeHostFacts, FakeCgroups, FakeLxcfs, FakeRuntime } from '../helpers/fake-runtime.js';

let root: string;
let rt: FakeRuntime;
let app: ReturnType<typeof buildServer>;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vsd-'));
  chmodSync(root, 0o755);
  rt = new FakeRuntime();
  const engine = new Engine(root, { runtime: rt, cgroups: new FakeCgroups(), hostFacts: fakeHostFacts, lxcfs: new FakeLxcfs() });
  app = buildServer(engine, { bodyLimit: 4096 });
});
afterEach(async () => {
  await app.close();
  rmSync(root, { recursive: true, force: true });
});

function fakeGuest(name: string, context: number, extra = ''): void {
  mkdirSync(join(root, 'etc/vserver/guests'), { recursive: true });
  writeFileSync(join(root, `etc/vserver/guests/${name}.toml`), `context = ${context}\ninit = "cmd"\ncmd = ["/bin/sh"]\n${extra}`);
  mkdirSync(join(root, `var/lib/vserver/guests/${name}/rootfs`), { recursive: true });
}

const put = (url: string, payload: unknown) => app.inject({ method: 'PUT', url, payload: payload as object });

describe('the API', () => {
  it('lists guests, filtered by state and mark, and shows one', async () => {
    expect((await app.inject('/1.0/guests')).json()).toEqual([]);
    fakeGuest('web1', 100, 'mark = "web"\n');
    fakeGuest('db1', 101);
    expect((await put('/1.0/guests/web1/state', { action: 'start' })).json()).toMatchObject({
      name: 'web1',
      state: 'running',
      context: 100,
    });
    const names = async (q: string) => ((await app.inject(`/1.0/guests${q}`)).json() as { name: string }[]).map((g) => g.name);
    expect(await names('')).toEqual(['db1', 'web1']);
    expect(await names('?state=running')).toEqual(['web1']);
    expect(await names('?state=stopped')).toEqual(['db1']);
    expect(await names('?mark=web')).toEqual(['web1']);
    expect((await app.inject('/1.0/guests/web1')).json()).toMatchObject({ name: 'web1', state: 'running' });
  });

  it('starts one guest, and many at once with one result each (stop and restart run on real guests in the system test)', async () => {
    fakeGuest('a', 100);
    fakeGuest('b', 101);
    expect((await put('/1.0/guests/a/state', { action: 'start' })).json()).toMatchObject({ state: 'running' });
    const r = await put('/1.0/guests/state', { action: 'start', names: ['a', 'b', 'nosuch'], jobs: 2 });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      failed: 1,
      results: [
        { name: 'a', action: 'start', ok: true, note: 'already running', state: 'running' },
        { name: 'b', action: 'start', ok: true, state: 'running', context: 101 },
        {
          name: 'nosuch',
          action: 'start',
          ok: false,
          code: 'NOT_FOUND',
          error: expect.stringMatching(/guest 'nosuch' not found/),
          hint: expect.any(String),
        },
      ],
    });
    expect([...rt.containers.keys()].sort()).toEqual(['a', 'b']);
  });

  it('deletes a stopped guest, and refuses a running one without force', async () => {
    fakeGuest('a', 100);
    fakeGuest('b', 101);
    await put('/1.0/guests/a/state', { action: 'start' });
    const refused = await app.inject({ method: 'DELETE', url: '/1.0/guests/a' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'ALREADY_RUNNING', hint: expect.stringMatching(/--force/) });
    expect((await app.inject('/1.0/guests/a')).json()).toMatchObject({ state: 'running' });
    expect((await app.inject({ method: 'DELETE', url: '/1.0/guests/b' })).statusCode).toBe(204);
    expect((await app.inject('/1.0/guests/b')).statusCode).toBe(404);
  });

  it("refuses bad input with the CLI's message and code, and changes nothing", async () => {
    fakeGuest('a', 100);
    const before = readFileSync(join(root, 'etc/vserver/guests/a.toml'), 'utf8');
    const cases: [Promise<{ statusCode: number; json: () => unknown }>, number, string, RegExp][] = [
      [app.inject('/1.0/guests/nosuch'), 404, 'NOT_FOUND', /guest 'nosuch' not found/],
      [app.inject('/1.0/guests/Bad_Name'), 400, 'INVALID_NAME', /name/],
      [app.inject('/1.0/guests?state=sleeping'), 400, 'USAGE', /state/],
      [put('/1.0/guests/a/state', { action: 'explode' }), 400, 'USAGE', /action/],
      [put('/1.0/guests/a/state', { action: 'start', extra: 1 }), 400, 'USAGE', /additional/],
      [put('/1.0/guests/a/state', { action: 'stop', timeout: 'soon' }), 400, 'USAGE', /timeout/],
      [
        app.inject({ method: 'PUT', url: '/1.0/guests/a/state', payload: '{"action":', headers: { 'content-type': 'application/json' } }),
        400,
        'USAGE',
        /JSON/i,
      ],
      [put('/1.0/guests/a/state', { action: 'start', timeout: 1, pad: 'x'.repeat(5000) }), 400, 'USAGE', /too large/],
      [put('/1.0/guests/state', { action: 'start', jobs: 0, all: true }), 400, 'USAGE', /jobs/],
      [put('/1.0/guests/state', { action: 'start', names: ['../etc'] }), 400, 'INVALID_NAME', /name/],
      [put('/1.0/guests/a/state', { action: 'stop' }), 409, 'NOT_RUNNING', /not running/],
      [app.inject('/2.0/guests'), 404, 'NOT_FOUND', /no such route/],
    ];
    for (const [p, status, code, msg] of cases) {
      const r = await p;
      const body = r.json() as { code: string; error: string };
      expect({ status: r.statusCode, code: body.code }).toEqual({ status, code });
      expect(body.error).toMatch(msg);
    }
    expect(readFileSync(join(root, 'etc/vserver/guests/a.toml'), 'utf8')).toBe(before);
    expect(rt.containers.size).toBe(0);
  });

  it('serves Prometheus metrics per running guest, labelled by name and context', async () => {
    fakeGuest('web1', 100);
    fakeGuest('idle', 101);
    await put('/1.0/guests/web1/state', { action: 'start' });
    const r = await app.inject('/metrics');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.body).toMatch(/^# TYPE vserver_guest_memory_bytes gauge$/m);
    expect(r.body).toMatch(/^vserver_guest_memory_bytes\{name="web1",context="100"\} \d+$/m);
    expect(r.body).toMatch(/^vserver_guest_cpu_seconds_total\{name="web1",context="100",mode="user"\} [\d.e-]+$/m);
    expect(r.body).toMatch(/^vserver_guests_running 1$/m);
    expect(r.body).toMatch(/^vserverd_process_resident_memory_bytes \d+$/m);
    expect(r.body).toMatch(/^vserverd_http_requests_total\{method="PUT",status="200"\} 1$/m);
    expect(r.body).not.toMatch(/name="idle"/);
  });

  it('changes limits as vserver limit does, and serves stat, ps and templates', async () => {
    fakeGuest('web1', 100);
    const patch = (payload: unknown) => app.inject({ method: 'PATCH', url: '/1.0/guests/web1/limits', payload: payload as object });
    const r = await patch({ 'memory.max': '256M', 'pids.max': '100' });
    expect(r.json()).toMatchObject({ name: 'web1', live: false, limits: { memory: { max: '256M' }, pids: { max: 100 } } });
    expect(readFileSync(join(root, 'etc/vserver/guests/web1.toml'), 'utf8')).toMatch(/max = "256M"/);
    expect((await app.inject('/1.0/guests/web1/limits')).json()).toMatchObject({ memory: { max: '256M' } });
    const bad = await patch({ 'disk.max': '1G' });
    expect({ status: bad.statusCode, code: bad.json().code }).toEqual({ status: 400, code: 'USAGE' });
    const wrong = await patch({ 'memory.max': 'lots' });
    expect({ status: wrong.statusCode, code: wrong.json().code }).toEqual({ status: 400, code: 'INVALID_VALUE' });
    expect((await patch({})).statusCode).toBe(400);
    expect((await app.inject('/1.0/templates')).json().map((x: { name: string }) => x.name)).toEqual(['busybox']);
    const ps = (await app.inject('/1.0/ps?options=-ef')).json() as { rows: { pid: number; name: string }[] };
    expect(ps.rows.find((row) => row.pid === process.pid)).toMatchObject({ name: 'MAIN' });
    expect((await app.inject('/1.0/stat')).json()[0]).toMatchObject({ context: 0 });
  });
});
