// Events, exec sessions, the log and figures of the API in process: inject for the routes, a
// loopback listener where a response stays open (SSE, log follow).
import { EventEmitter } from 'node:events';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildServer } from '../../src/daemon/server.js';
import { Tracker } from '../../src/daemon/tracker.js';
import type { WatchReport } from '../../src/daemon/guest-watch.js';
import { Engine } from '../../src/engine/index.js';
import type { LifecycleEvent } from '../../src/engine/events.js';
import { sleep } from '../../src/util/proc.js';
import { fakeHostFacts, FakeCgroups, FakeLxcfs, FakeRuntime } from '../helpers/fake-runtime.js';

let root: string;
let rt: FakeRuntime;
let engine: Engine;
let app: ReturnType<typeof buildServer>;
/** Listeners the server itself keeps (its guest list), apart from the event streams. */
let own = 0;
const opened: { close(): void }[] = [];

const newEngine = () => new Engine(root, { runtime: rt, cgroups: new FakeCgroups(), hostFacts: fakeHostFacts, lxcfs: new FakeLxcfs() });

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vsde-'));
  chmodSync(root, 0o755);
  rt = new FakeRuntime();
  engine = newEngine();
  app = buildServer(engine, { bodyLimit: 4096, eventBacklogBytes: 64 * 1024 });
  own = engine.events.listenerCount('event');
});
afterEach(async () => {
  for (const o of opened.splice(0)) o.close();
  await app.close();
  rmSync(root, { recursive: true, force: true });
});

function fakeGuest(name: string, context: number): void {
  mkdirSync(join(root, 'etc/vserver/guests'), { recursive: true });
  writeFileSync(join(root, `etc/vserver/guests/${name}.toml`), `context = ${context}\ninit = "cmd"\ncmd = ["/bin/sh"]\n`);
  mkdirSync(join(root, `var/lib/vserver/guests/${name}/rootfs`), { recursive: true });
}

const put = (url: string, payload: unknown) => app.inject({ method: 'PUT', url, payload: payload as object });
const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });

/** Collects the events the emitter gives until told to stop. */
function collect(em: EventEmitter): LifecycleEvent[] {
  const got: LifecycleEvent[] = [];
  em.on('event', (e: LifecycleEvent) => got.push(e));
  return got;
}

const listeners = (e: Engine) => e.events.listenerCount('event') - own;

async function until(fn: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A GET on a loopback listener whose body keeps coming; resolves with the response once headers are in. */
async function openStream(
  path: string,
): Promise<{ status: number; type: string; text: () => string; res: import('node:http').IncomingMessage }> {
  if (app.server.address() === null) await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      opened.push({ close: () => req.destroy() });
      resolve({ status: res.statusCode!, type: String(res.headers['content-type']), text: () => body, res });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('engine events', () => {
  it('come after each change made through the engine, and not after a failed one', async () => {
    const got = collect(engine.events);
    fakeGuest('web1', 100);
    await put('/1.0/guests/web1/state', { action: 'start' });
    await app.inject({ method: 'PATCH', url: '/1.0/guests/web1/limits', payload: { 'pids.max': '100' } });
    await engine.setConfig('web1', 'hostname', 'www');
    expect((await put('/1.0/guests/web1/state', { action: 'start' })).statusCode).toBe(409);
    fakeGuest('old', 101);
    expect((await app.inject({ method: 'DELETE', url: '/1.0/guests/old' })).statusCode).toBe(204);
    expect((await app.inject({ method: 'DELETE', url: '/1.0/guests/old' })).statusCode).toBe(404);
    expect(got.map((e) => [e.type, e.guest])).toEqual([
      ['started', 'web1'],
      ['limit-changed', 'web1'],
      ['config-changed', 'web1'],
      ['deleted', 'old'],
    ]);
    expect(got[0]!.detail).toMatchObject({ context: 100, pid: process.pid });
    expect(got[1]!.detail).toEqual({ key: 'pids.max', value: '100', live: true });
    expect(Math.abs(Date.parse(got[0]!.time) - Date.now())).toBeLessThan(5000);
    expect(got[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }, 20_000);
});

describe('GET /1.0/events', () => {
  it('streams events as server-sent events, filtered by guest', async () => {
    const all = await openStream('/1.0/events');
    const one = await openStream('/1.0/events?guest=b');
    expect([all.status, all.type]).toEqual([200, 'text/event-stream']);
    fakeGuest('a', 100);
    fakeGuest('b', 101);
    await put('/1.0/guests/a/state', { action: 'start' });
    await put('/1.0/guests/b/state', { action: 'start' });
    const data = (t: string) =>
      t
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => JSON.parse(l.slice(6)) as LifecycleEvent);
    await until(() => data(all.text()).length === 2 && data(one.text()).length === 1, 'two events');
    expect(data(all.text()).map((e) => `${e.type} ${e.guest}`)).toEqual(['started a', 'started b']);
    expect(data(one.text()).map((e) => `${e.type} ${e.guest}`)).toEqual(['started b']);
  });

  it('sends one text frame per event on a WebSocket', async () => {
    await app.ready();
    const ws = await app.injectWS('/1.0/events?guest=a');
    const frames: string[] = [];
    ws.on('message', (d: Buffer) => frames.push(d.toString()));
    fakeGuest('a', 100);
    await put('/1.0/guests/a/state', { action: 'start' });
    await until(() => frames.length === 1, 'a frame');
    expect(JSON.parse(frames[0]!)).toMatchObject({ type: 'started', guest: 'a' });
    ws.terminate();
  });

  it('drops a listener that does not read, saying overflow, and keeps serving the others', async () => {
    const fast = await openStream('/1.0/events');
    // a client that sends its request and then reads nothing
    const port = (app.server.address() as AddressInfo).port;
    const slow = connect(port, '127.0.0.1');
    await new Promise((r) => slow.once('connect', r));
    slow.write('GET /1.0/events HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => listeners(engine) === 2, 'two listeners');
    slow.pause();
    const big = 'x'.repeat(20 * 1024);
    const count = (t: string) => t.split('\n').filter((l) => l.startsWith('data: ')).length;
    let sent = 0;
    // the kernel's socket buffers take some megabytes before the daemon's own queue grows; the
    // reading listener catches up after each batch, so that only the other one falls behind
    while (sent < 3000 && listeners(engine) === 2) {
      for (let i = 0; i < 3; i++, sent++)
        engine.events.emit('event', { type: 'oom', guest: 'a', time: new Date().toISOString(), detail: { pad: big } });
      await until(() => count(fast.text()) === sent, 'the reading listener', 10_000);
    }
    expect(listeners(engine)).toBe(1);
    let text = '';
    slow.setEncoding('utf8').on('data', (d: string) => {
      text += d;
    });
    slow.resume();
    await until(() => text.includes(': overflow'), 'the overflow notice', 20_000);
    slow.destroy();
    expect(count(text)).toBeLessThan(sent);
    expect(count(fast.text())).toBe(sent);
    expect(fast.res.readableEnded).toBe(false);
  }, 60_000);

  it('closes the WebSocket of a listener that does not read with 1013 overflow', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/1.0/events`);
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<[number, string]>((resolve) =>
      ws.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()])),
    );
    let frames = 0;
    ws.on('message', () => {
      frames++;
    });
    (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    const big = 'x'.repeat(20 * 1024);
    let sent = 0;
    while (sent < 3000 && listeners(engine) === 1) {
      for (let i = 0; i < 3; i++, sent++)
        engine.events.emit('event', { type: 'oom', guest: 'a', time: new Date().toISOString(), detail: { pad: big } });
      await sleep(2);
    }
    expect(listeners(engine)).toBe(0);
    (ws as unknown as { _socket: import('node:net').Socket })._socket.resume();
    expect(await closed).toEqual([1013, 'overflow']);
    expect(frames).toBeGreaterThan(0);
    expect(frames).toBeLessThan(sent);
  }, 60_000);

  it('refuses a bad guest name and unknown parameters', async () => {
    const bad = await app.inject('/1.0/events?guest=Bad_Name');
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'INVALID_NAME']);
    const extra = await app.inject('/1.0/events?since=1');
    expect([extra.statusCode, extra.json().code]).toEqual([400, 'USAGE']);
  });
});

describe('the tracker', () => {
  it("reports what another process does to guests, died and oom, and the engine's own changes once", async () => {
    const watch = Object.assign(new EventEmitter(), {
      watched: [] as string[],
      watchPid(name: string, pid: number) {
        this.watched.push(`pid ${name} ${pid}`);
      },
      watchOom(name: string, path: string) {
        this.watched.push(`oom ${name} ${path}`);
      },
      forget(name: string) {
        this.watched.push(`forget ${name}`);
      },
      close() {
        /* nothing to end */
      },
    });
    const cg = new FakeCgroups();
    mkdirSync(join(root, 'cg/vs'), { recursive: true });
    writeFileSync(join(root, 'cg/vs/memory.events'), 'oom_kill 0\n');
    cg.dirs = () => [join(root, 'cg/vs')];
    engine = new Engine(root, { runtime: rt, cgroups: cg, hostFacts: fakeHostFacts, lxcfs: new FakeLxcfs() });
    const tracker = new Tracker(engine, watch);
    opened.push(tracker);
    await tracker.start();
    const got = collect(tracker.events);
    const other = newEngine(); // the CLI in another process: same files and runtime, its own engine
    fakeGuest('a', 100);
    await until(() => got.length === 1, 'built');
    await other.start('a');
    await until(() => got.length === 2, 'started');
    expect(watch.watched).toEqual([`pid a ${process.pid}`, `oom a ${join(root, 'cg/vs/memory.events')}`]);
    await other.setLimit('a', 'pids.max', '50');
    await until(() => got.length === 3, 'limit-changed');
    await engine.setConfig('a', 'hostname', 'www');
    // init exits with nobody stopping it: the runtime's state stays, and the kernel tells the watcher
    rt.containers.get('a')!.status = 'stopped';
    watch.emit('report', { kind: 'exit', name: 'a', pid: process.pid } satisfies WatchReport);
    watch.emit('report', { kind: 'oom', name: 'a', count: 3 } satisfies WatchReport);
    await until(() => got.length === 6, 'died');
    await sleep(100);
    expect(got.map((e) => e.type)).toEqual(['built', 'started', 'limit-changed', 'config-changed', 'oom', 'died']);
    expect(got[4]!.detail).toEqual({ oomKills: 3 });
    expect(got[5]!.detail).toEqual({ pid: process.pid });
    rt.containers.delete('a');
    rmSync(join(root, 'etc/vserver/guests/a.toml'));
    await until(() => got.length === 7, 'deleted');
    expect(got[6]).toMatchObject({ type: 'deleted', guest: 'a' });
  });
});

describe('the tracker and a change made while the engine works', () => {
  it("reports another process's config change made while the engine worked on the guest, once the engine is done", async () => {
    engine = newEngine();
    const tracker = new Tracker(engine);
    opened.push(tracker);
    await tracker.start();
    const got = collect(tracker.events);
    const other = newEngine();
    fakeGuest('b', 101);
    await until(() => got.length === 1, 'built');
    // the engine is busy with b (an API start under way) when the CLI changes its hostname
    engine.busy.set('b', 1);
    await other.setConfig('b', 'hostname', 'changed');
    await sleep(100); // the file event came and was put off while b is busy
    engine.busy.delete('b');
    await engine.start('b');
    await until(() => got.length === 3, 'started and config-changed');
    await sleep(100);
    expect(got.map((e) => e.type)).toEqual(['built', 'config-changed', 'started']); // in the order they happened
  });
});

describe('exec sessions', () => {
  it('answer 201 with a socket URL once the command runs through the engine, and keep its exit for the client', async () => {
    fakeGuest('a', 100);
    await put('/1.0/guests/a/state', { action: 'start' });
    const r = await post('/1.0/guests/a/exec', { command: ['true'], env: { A: 'b' }, cwd: '/tmp', user: '1000:1000' });
    expect(r.statusCode).toBe(201);
    const { id, socket } = r.json() as { id: string; socket: string };
    expect(socket).toMatch(new RegExp(`^/1\\.0/exec/${id}\\?secret=[0-9a-f]{48}$`));
    // the command started with the request, before any client attached
    expect(rt.calls).toContain('exec a true');
    const frames: string[] = [];
    let closed: Promise<number> = Promise.resolve(0);
    // listening from the start: the kept exit comes in the same read as the upgrade
    await app.injectWS(
      socket,
      {},
      {
        onInit: (ws) => {
          closed = new Promise<number>((resolve) => ws.on('close', (code: number) => resolve(code)));
          ws.on('message', (d: Buffer, bin: boolean) => {
            if (!bin) frames.push(d.toString());
          });
        },
      },
    );
    expect(await closed).toBe(1000);
    expect(frames.map((f) => JSON.parse(f))).toEqual([{ type: 'exit', code: 0 }]);
    expect(rt.calls).toContain('exec a true');
    // a session is used once
    const again = await app.inject(socket);
    expect([again.statusCode, again.json().code]).toEqual([404, 'NOT_FOUND']);
  });

  it('refuses bad requests, wrong secrets and plain GETs with our errors', async () => {
    fakeGuest('a', 100);
    fakeGuest('idle', 101);
    await put('/1.0/guests/a/state', { action: 'start' });
    const cases: [Promise<{ statusCode: number; json: () => { code: string; error: string } }>, number, string, RegExp][] = [
      [post('/1.0/guests/a/exec', { command: [] }), 400, 'USAGE', /command/],
      [post('/1.0/guests/a/exec', { cmd: ['ls'] }), 400, 'USAGE', /command/],
      [post('/1.0/guests/a/exec', { command: ['ls'], tty: true }), 400, 'USAGE', /additional/],
      [post('/1.0/guests/a/exec', { command: ['ls'], cols: 0 }), 400, 'USAGE', /cols/],
      [post('/1.0/guests/a/exec', { command: 'ls' }), 400, 'USAGE', /command/],
      [post('/1.0/guests/a/exec', { command: ['ls'], cwd: 'tmp' }), 400, 'USAGE', /absolute/],
      [post('/1.0/guests/a/exec', { command: ['ls'], user: 'root' }), 400, 'USAGE', /UID/],
      [post('/1.0/guests/a/exec', { command: ['ls'], env: { 'A=B': 'c' } }), 400, 'USAGE', /environment variable/],
      [post('/1.0/guests/a/exec', { command: ['ls'], env: { A: 1 } }), 400, 'USAGE', /env/],
      [post('/1.0/guests/idle/exec', { command: ['ls'] }), 409, 'NOT_RUNNING', /not running/],
      [post('/1.0/guests/nosuch/exec', { command: ['ls'] }), 404, 'NOT_FOUND', /not found/],
      [post('/1.0/guests/Bad/exec', { command: ['ls'] }), 400, 'INVALID_NAME', /name/],
      [app.inject('/1.0/exec/nosuch?secret=x'), 404, 'NOT_FOUND', /no exec session/],
    ];
    for (const [p, status, code, msg] of cases) {
      const res = await p;
      expect({ status: res.statusCode, code: res.json().code }).toEqual({ status, code });
      expect(res.json().error).toMatch(msg);
    }
    const { id, socket } = (await post('/1.0/guests/a/exec', { command: ['ls'] })).json() as { id: string; socket: string };
    const wrong = await app.inject(`/1.0/exec/${id}?secret=${'0'.repeat(48)}`);
    expect([wrong.statusCode, wrong.json().code]).toEqual([403, 'NOT_PERMITTED']);
    const plain = await app.inject(socket);
    expect([plain.statusCode, plain.json().code, plain.json().hint]).toEqual([400, 'USAGE', expect.stringMatching(/WebSocket/)]);
    // only the one good request ran a command: refused requests and sockets start nothing
    expect(rt.calls.filter((c) => c.startsWith('exec'))).toEqual(['exec a ls']);
  });
});

describe('GET /1.0/guests/{name}/log', () => {
  it('returns the log, follows what is appended, and says when the guest does not exist', async () => {
    fakeGuest('a', 100);
    expect((await app.inject('/1.0/guests/a/log')).body).toBe('');
    const log = join(root, 'var/log/vserver/a.log');
    mkdirSync(join(root, 'var/log/vserver'), { recursive: true });
    writeFileSync(log, 'line 1\n');
    const r = await app.inject('/1.0/guests/a/log');
    expect([r.statusCode, r.headers['content-type'], r.body]).toEqual([200, 'text/plain; charset=utf-8', 'line 1\n']);
    const f = await openStream('/1.0/guests/a/log?follow=1');
    await until(() => f.text() === 'line 1\n', 'the log so far');
    appendFileSync(log, 'line 2\n');
    await until(() => f.text() === 'line 1\nline 2\n', 'the appended line');
    const missing = await app.inject('/1.0/guests/nosuch/log');
    expect([missing.statusCode, missing.json().code]).toEqual([404, 'NOT_FOUND']);
    const bad = await app.inject('/1.0/guests/a/log?follow=yes');
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'USAGE']);
    expect(existsSync(join(root, 'var/log/vserver/nosuch.log'))).toBe(false);
  });
});

describe('GET /1.0/guests?figures=1', () => {
  it('adds the figures status shows to running guests only', async () => {
    fakeGuest('a', 100);
    fakeGuest('b', 101);
    await put('/1.0/guests/a/state', { action: 'start' });
    const list = (await app.inject('/1.0/guests?figures=1')).json() as { name: string; figures?: Record<string, number> }[];
    expect(list.find((g) => g.name === 'a')!.figures).toMatchObject({
      cpuSeconds: expect.any(Number),
      memoryBytes: expect.any(Number),
      processes: 0,
    });
    expect(list.find((g) => g.name === 'b')!.figures).toBeUndefined();
    expect(((await app.inject('/1.0/guests')).json() as { figures?: unknown }[]).every((g) => g.figures === undefined)).toBe(true);
    expect((await app.inject('/1.0/guests?figures=2')).statusCode).toBe(400);
  });
});
