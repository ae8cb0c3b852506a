// The daemon's kept guest list: one computation per change and per burst of requests, never a
// list older than a change made through the engine or by another process in the files.
import { EventEmitter } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/daemon/server.js';
import { Engine } from '../../src/engine/index.js';
import { lifecycleEvent } from '../../src/engine/events.js';
import { withLock } from '../../src/util/lock.js';
import { sleep } from '../../src/util/proc.js';
import { fakeHostFacts, FakeCgroups, FakeLxcfs, FakeRuntime } from '../helpers/fake-runtime.js';

let root: string;
let engine: Engine;
let events: EventEmitter;
let app: ReturnType<typeof buildServer>;
let computed = 0;

/** A guest config as another process (the CLI) writes it: under the guest's lock, a temp file renamed into place. */
const cliWrites = (name: string, text: string) =>
  withLock(join(root, `run/vserver/locks/${name}.lock`), 'test', async () => writeGuest(name, text));

function writeGuest(name: string, text: string): void {
  const dir = join(root, 'etc/vserver/guests');
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(root, `var/lib/vserver/guests/${name}/rootfs`), { recursive: true });
  writeFileSync(join(dir, `.${name}.tmp`), text);
  renameSync(join(dir, `.${name}.tmp`), join(dir, `${name}.toml`));
}

const names = async (url = '/1.0/guests') => ((await app.inject(url)).json() as { name: string }[]).map((g) => g.name);

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'vsgl-'));
  chmodSync(root, 0o755);
  engine = new Engine(root, { runtime: new FakeRuntime(), cgroups: new FakeCgroups(), hostFacts: fakeHostFacts, lxcfs: new FakeLxcfs() });
  const list = engine.list.bind(engine);
  computed = 0;
  engine.list = () => {
    computed++;
    return list();
  };
  for (const d of ['etc/vserver/guests', 'run/vserver/locks', 'run/vserver/runc', 'run/vserver/net'])
    mkdirSync(join(root, d), { recursive: true });
  writeGuest('a', 'context = 101\ninit = "cmd"\ncmd = ["/bin/sh"]\n');
  writeGuest('b', 'context = 102\ninit = "cmd"\ncmd = ["/bin/sh"]\nmark = "web"\n');
  events = new EventEmitter();
  app = buildServer(engine, { events });
  // past the timestamp tick of the writes above, so that the first list is kept
  await sleep(50);
});
afterEach(async () => {
  await app.close();
  rmSync(root, { recursive: true, force: true });
});

describe('GET /1.0/guests, kept by the daemon', () => {
  it('answers many requests, also concurrent ones, from one computation, with the same body as the engine', async () => {
    const first = await app.inject('/1.0/guests');
    const again = await Promise.all(Array.from({ length: 20 }, () => app.inject('/1.0/guests')));
    for (const r of again) expect(r.body).toBe(first.body);
    expect(computed).toBe(1);
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(first.json()).toEqual(JSON.parse(JSON.stringify(await engine.list())));
    expect(await names('/1.0/guests?mark=web')).toEqual(['b']);
    expect(await names('/1.0/guests?state=stopped')).toEqual(['a', 'b']);
    expect(await names('/1.0/guests?state=running')).toEqual([]);
  }, 30_000);

  it("shows another process's new, changed and deleted guest in the very next request", async () => {
    expect(await names()).toEqual(['a', 'b']);
    await cliWrites('c', 'context = 103\ninit = "cmd"\ncmd = ["/bin/sh"]\n');
    expect(await names()).toEqual(['a', 'b', 'c']);
    await cliWrites('a', 'context = 101\ninit = "cmd"\ncmd = ["/bin/sh"]\nmark = "web"\n');
    expect(await names('/1.0/guests?mark=web')).toEqual(['a', 'b']);
    await withLock(join(root, 'run/vserver/locks/c.lock'), 'test', async () => unlinkSync(join(root, 'etc/vserver/guests/c.toml')));
    expect(await names()).toEqual(['a', 'b']);
  }, 30_000);

  it('recomputes after a lock was taken and released (a change of runtime state under the lock), and after an event', async () => {
    await names();
    const lock = join(root, 'run/vserver/locks/a.lock');
    symlinkSync('1:1:test', lock);
    unlinkSync(lock);
    await names();
    expect(computed).toBe(2);
    await sleep(50);
    await names();
    expect(computed).toBe(3);
    await names();
    expect(computed).toBe(3);
    events.emit('event', lifecycleEvent('died', 'a'));
    await names();
    expect(computed).toBe(4);
  }, 30_000);

  // stop needs a real guest: tests/system/daemon-list.test.ts
  it('shows a start through the API at once', async () => {
    expect(await names('/1.0/guests?state=running')).toEqual([]);
    expect((await app.inject({ method: 'PUT', url: '/1.0/guests/a/state', payload: { action: 'start' } })).statusCode).toBe(200);
    expect(await names('/1.0/guests?state=running')).toEqual(['a']);
  }, 30_000);
});
