// The config and limits routes in process (inject, no socket): versions, every refusal, and nothing changed by one.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/daemon/server.js';
import { Engine } from '../../src/engine/index.js';
import { VsError } from '../../src/util/errors.js';
import { fakeHostFacts, FakeCgroups, FakeLxcfs, FakeRuntime } from '../helpers/fake-runtime.js';

let root: string;
let rt: FakeRuntime;
let engine: Engine;
let app: ReturnType<typeof buildServer>;
const START = '# web\ncontext = 100\ninit = "cmd"\ncmd = ["/bin/sh"]\n';
const file = () => join(root, 'etc/vserver/guests/web1.toml');
const text = () => readFileSync(file(), 'utf8');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vsdc-'));
  chmodSync(root, 0o755);
  rt = new FakeRuntime();
  engine = new Engine(root, { runtime: rt, cgroups: new FakeCgroups(), hostFacts: fakeHostFacts, lxcfs: new FakeLxcfs() });
  app = buildServer(engine, { bodyLimit: 4096 });
  mkdirSync(join(root, 'etc/vserver/guests'), { recursive: true });
  writeFileSync(file(), START);
  mkdirSync(join(root, 'var/lib/vserver/guests/web1/rootfs'), { recursive: true });
});
afterEach(async () => {
  await app.close();
  rmSync(root, { recursive: true, force: true });
});

type Opts = { headers?: Record<string, string> };
const patch = (url: string, payload: unknown, o: Opts = {}) =>
  app.inject({ method: 'PATCH', url, payload: payload as object, headers: o.headers });
const putToml = (body: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'PUT', url: '/1.0/guests/web1/config', payload: body, headers: { 'content-type': 'application/toml', ...headers } });

/** What `vserver config` says for the same change, to compare with the API's answer. */
async function cliError(key: string, value: unknown): Promise<VsError> {
  const e = await engine.setConfig('web1', key, value).then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof VsError)) throw new Error('expected the change to be refused');
  return e;
}

describe('GET /1.0/guests/NAME/config', () => {
  it('answers the TOML text with its version as ETag, or the config as JSON when asked', async () => {
    const r = await app.inject('/1.0/guests/web1/config');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/toml/);
    expect(r.headers.etag).toBe(`"${sha(START)}"`);
    expect(r.body).toBe(START);
    const j = await app.inject({ url: '/1.0/guests/web1/config', headers: { accept: 'application/json' } });
    expect(j.headers.etag).toBe(`"${sha(START)}"`);
    expect(j.json()).toMatchObject({ context: 100, init: 'cmd', cmd: ['/bin/sh'] });
  });

  it('refuses a guest that does not exist and a bad name', async () => {
    expect((await app.inject('/1.0/guests/nosuch/config')).json()).toMatchObject({ code: 'NOT_FOUND' });
    expect((await app.inject('/1.0/guests/Bad_Name/config')).statusCode).toBe(400);
  });
});

describe('PATCH /1.0/guests/NAME/config', () => {
  it('sets and removes keys, answering the new version; a stale If-Match is 412 and changes nothing', async () => {
    const r = await patch('/1.0/guests/web1/config', { set: { stop_timeout: 10, 'limits.memory.max': '256M' } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ name: 'web1', version: sha(text()) });
    expect(r.headers.etag).toBe(`"${sha(text())}"`);
    expect(text()).toMatch(/stop_timeout = 10/);
    const current = r.headers.etag as string;
    const ok = await patch('/1.0/guests/web1/config', { set: { stop_timeout: null } }, { headers: { 'if-match': current } });
    expect(ok.statusCode).toBe(200);
    expect(text()).not.toMatch(/stop_timeout/);
    const before = text();
    const stale = await patch('/1.0/guests/web1/config', { set: { stop_timeout: 3 } }, { headers: { 'if-match': current } });
    expect(stale.statusCode).toBe(412);
    expect(stale.json()).toMatchObject({
      code: 'CONFLICT',
      error: expect.stringMatching(/changed since version/),
      hint: expect.any(String),
    });
    expect(text()).toBe(before);
  });

  it('refuses invalid values with the message vserver config gives, the key, and 400', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ stop_timeout: -1 }, 'stop_timeout', 'CONFIG_INVALID'],
      [{ init: 'upstart' }, 'init', 'CONFIG_INVALID'],
      [{ colour: 'red' }, 'colour', 'CONFIG_INVALID'],
      [{ 'limits.memory.max': 'lots' }, 'limits.memory.max', 'CONFIG_INVALID'],
    ];
    for (const [set, key, code] of cases) {
      const [k, v] = Object.entries(set)[0]!;
      const cli = await cliError(k, v);
      const r = await patch('/1.0/guests/web1/config', { set });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toEqual({ error: cli.message, code, hint: cli.hint, key });
    }
    const fixed = await patch('/1.0/guests/web1/config', { set: { isolated: true } });
    expect({ status: fixed.statusCode, code: fixed.json().code }).toEqual({ status: 400, code: 'INVALID_VALUE' });
    expect(fixed.json().error).toBe((await cliError('isolated', true)).message);
    expect(text()).toBe(START);
  });

  it('refuses bodies of the wrong shape', async () => {
    for (const body of [{}, { set: {} }, { set: { a: 1 }, extra: 1 }, { set: 'stop_timeout=1' }, [1]]) {
      const r = await patch('/1.0/guests/web1/config', body);
      expect({ body, status: r.statusCode, code: r.json().code }).toEqual({ body, status: 400, code: 'USAGE' });
    }
    const bad = await patch('/1.0/guests/web1/config', { set: { stop_timeout: 1 } }, { headers: { 'if-match': '"abc"' } });
    expect({ status: bad.statusCode, code: bad.json().code }).toEqual({ status: 400, code: 'USAGE' });
    expect((await patch('/1.0/guests/web1/config', { set: { 'a..b': 1 } })).json()).toMatchObject({ code: 'USAGE' });
    expect((await patch('/1.0/guests/nosuch/config', { set: { stop_timeout: 1 } })).statusCode).toBe(404);
    expect(text()).toBe(START);
  });
});

describe('PUT /1.0/guests/NAME/config', () => {
  it('needs If-Match (428), writes the text as sent with comments, and refuses a stale version (412)', async () => {
    const next = `${START}# quick\nstop_timeout = 5\n`;
    const none = await putToml(next);
    expect(none.statusCode).toBe(428);
    expect(none.json()).toMatchObject({ code: 'VERSION_REQUIRED', hint: expect.stringMatching(/If-Match/) });
    expect(text()).toBe(START);
    const r = await putToml(next, { 'if-match': `"${sha(START)}"` });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ name: 'web1', version: sha(next) });
    expect(r.headers.etag).toBe(`"${sha(next)}"`);
    expect(text()).toBe(next);
    const stale = await putToml(START, { 'if-match': `"${sha(START)}"` });
    expect({ status: stale.statusCode, code: stale.json().code }).toEqual({ status: 412, code: 'CONFLICT' });
    expect(text()).toBe(next);
    // '*' overwrites whatever is there
    expect((await putToml(START, { 'if-match': '*' })).statusCode).toBe(200);
    expect(text()).toBe(START);
  });

  it("points at the line of a syntax error and of a bad key, with the CLI's message", async () => {
    const v = { 'if-match': `"${sha(START)}"` };
    const syntax = await putToml('context = 100\ninit = \n', v);
    expect(syntax.statusCode).toBe(400);
    expect(syntax.json()).toMatchObject({ code: 'CONFIG_INVALID', line: 2, error: expect.stringMatching(/not valid TOML \(line 2/) });
    const bad = await putToml(`${START}\n[limits.pids]\nmax = "lots"\n`, v);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      code: 'CONFIG_INVALID',
      key: 'limits.pids.max',
      line: 7,
      error: (await cliError('limits.pids.max', 'lots')).message,
      hint: expect.any(String),
    });
    expect(text()).toBe(START);
  });

  it('refuses a body that is not TOML text, a bad If-Match and a body that is too large', async () => {
    const v = `"${sha(START)}"`;
    const json = await app.inject({ method: 'PUT', url: '/1.0/guests/web1/config', payload: { context: 100 }, headers: { 'if-match': v } });
    expect({ status: json.statusCode, code: json.json().code }).toEqual({ status: 400, code: 'USAGE' });
    const two = await putToml(START, { 'if-match': `${v}, ${v}` });
    expect({ status: two.statusCode, code: two.json().code }).toEqual({ status: 400, code: 'USAGE' });
    const big = await putToml(`${START}# ${'x'.repeat(5000)}\n`, { 'if-match': v });
    expect(big.json()).toMatchObject({ code: 'USAGE', error: expect.stringMatching(/too large/) });
    expect((await putToml(START, { 'if-match': `"${sha('x')}"` })).statusCode).toBe(412);
    expect(text()).toBe(START);
  });
});

describe('PATCH /1.0/guests/NAME/limits', () => {
  it('changes several limits in one step, on the running guest at once, or none of them', async () => {
    await engine.start('web1');
    const r = await patch('/1.0/guests/web1/limits', { 'memory.max': '256M', 'pids.max': '100' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({
      name: 'web1',
      live: true,
      limits: { memory: { max: '256M' }, pids: { max: 100 } },
      version: sha(text()),
    });
    expect(r.headers.etag).toBe(`"${sha(text())}"`);
    expect(rt.updates.at(-1)).toMatchObject({ memory: { limit: 256 * 2 ** 20 }, pids: { limit: 100 } });
    const before = text();
    const updates = rt.updates.length;
    const bad = await patch('/1.0/guests/web1/limits', { 'memory.max': '512M', 'pids.max': 'lots' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'INVALID_VALUE', error: expect.stringMatching(/pids.max must be a whole number/) });
    const stale = await patch('/1.0/guests/web1/limits', { 'memory.max': '512M' }, { headers: { 'if-match': `"${sha(START)}"` } });
    expect(stale.statusCode).toBe(412);
    const unknown = await patch('/1.0/guests/web1/limits', { 'memory.max': '512M', 'disk.max': '1G' });
    expect({ status: unknown.statusCode, code: unknown.json().code }).toEqual({ status: 400, code: 'USAGE' });
    const host = await patch('/1.0/guests/web1/limits', { 'cpu.cpuset': '0-7' });
    expect(host.json()).toMatchObject({ code: 'INVALID_VALUE', error: expect.stringMatching(/which this host does not have/) });
    expect((await patch('/1.0/guests/web1/limits', { 'memory.max': 512 })).statusCode).toBe(400);
    expect(text()).toBe(before);
    expect(rt.updates.length).toBe(updates);
    expect((await app.inject('/1.0/guests/web1/limits')).json()).toEqual({ memory: { max: '256M' }, pids: { max: 100 } });
  });
});
