// vserverd's config and limits routes on its Unix socket, on a real guest: a config change the CLI
// then reads, a lost update refused, and a live limit the kernel then enforces.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupReader } from '../../src/resources/cgroup.js';
import { socketOf, startDaemon } from '../helpers/daemon.js';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

/** Starts 30 background sleeps in the guest, prints how many forked, then ends them. */
const FORK_30 = 'p=; i=0; while [ $i -lt 30 ]; do sleep 1000 </dev/null >/dev/null 2>&1 & p="$p $!"; i=$((i+1)); done; echo $i; kill $p';
const FORK_30_COUNTING = 'i=0; while [ $i -lt 30 ]; do sleep 1000 </dev/null >/dev/null 2>&1 & i=$((i+1)); echo $i; done';

describe.skipIf(!IS_ROOT)('vserverd config and limits', () => {
  const t = new TestRoot('vsdc');
  const sock = socketOf(t);
  let daemon: ChildProcess | undefined;

  type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: string };
  const api = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const req = request({ socketPath: sock, method, path, headers, timeout: 60_000 }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const json = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    api(method, path, JSON.stringify(body), { 'content-type': 'application/json', ...headers });

  beforeAll(async () => {
    await t.ok(['build', 'dc1']);
    daemon = await startDaemon(t);
    expect((await json('PUT', '/1.0/guests/dc1/state', { action: 'start' })).status).toBe(200);
  });
  afterAll(async () => {
    daemon?.kill('SIGKILL');
    await t.cleanup();
  });

  it('changes the config by key and as text, which the CLI then reads, and refuses a lost update', async () => {
    const got = await api('GET', '/1.0/guests/dc1/config');
    expect(got.status).toBe(200);
    expect(got.body).toBe(readFileSync(t.paths.guestConfig('dc1'), 'utf8'));
    const etag = got.headers.etag as string;
    const r = await json('PATCH', '/1.0/guests/dc1/config', { set: { stop_timeout: 7 } }, { 'if-match': etag });
    expect(r.status).toBe(200);
    expect((await t.ok(['config', 'dc1', 'stop_timeout'])).trim()).toBe('7');
    // a second writer that read before the change is refused, and the file keeps the first change
    const stale = await json('PATCH', '/1.0/guests/dc1/config', { set: { stop_timeout: 9 } }, { 'if-match': etag });
    expect(stale.status).toBe(412);
    expect(JSON.parse(stale.body)).toMatchObject({ code: 'CONFLICT' });
    expect((await t.ok(['config', 'dc1', 'stop_timeout'])).trim()).toBe('7');
    const text = `${(await api('GET', '/1.0/guests/dc1/config')).body}# edited over the API\nmark = "api"\n`;
    const put = await api('PUT', '/1.0/guests/dc1/config', text, {
      'content-type': 'application/toml',
      'if-match': r.headers.etag as string,
    });
    expect(put.status).toBe(200);
    expect(readFileSync(t.paths.guestConfig('dc1'), 'utf8')).toBe(text);
    expect((await t.ok(['config', 'dc1', 'mark'])).trim()).toBe('api');
    const bad = await api('PUT', '/1.0/guests/dc1/config', `${text}start_order = "soon"\n`, {
      'content-type': 'application/toml',
      'if-match': put.headers.etag as string,
    });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ code: 'CONFIG_INVALID', key: 'start_order', line: text.split('\n').length });
    expect(readFileSync(t.paths.guestConfig('dc1'), 'utf8')).toBe(text);
  });

  it('puts a pids limit on the running guest that the kernel then enforces', async () => {
    // control: with the default limit, 30 more processes fork
    const before = await t.cli(['exec', 'dc1', '--', 'sh', '-c', FORK_30]);
    expect({ code: before.code, out: before.stdout.trim() }).toEqual({ code: 0, out: '30' });
    // the killed sleeps are reaped by the guest's init in its own time: the limit goes on once they are gone
    const tasks = async () => JSON.parse(await t.ok(['status', 'dc1', '--json'])).resources.usage.tasks as number;
    for (let i = 0; i < 100 && (await tasks()) > 5; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await tasks()).toBeLessThanOrEqual(5);
    const r = await json('PATCH', '/1.0/guests/dc1/limits', { 'pids.max': '20' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ live: true, limits: { pids: { max: 20 } } });
    expect(cgroupReader().limits(t.paths.cgroupName('dc1'))?.pidsMax).toBe(20);
    const after = await t.cli(['exec', 'dc1', '--', 'sh', '-c', FORK_30_COUNTING]);
    expect(after.stderr).toMatch(/can't fork/);
    const forked = Number(after.stdout.trim().split('\n').pop() ?? 0);
    expect(forked).toBeLessThan(20);
    expect(JSON.parse(await t.ok(['status', 'dc1', '--json'])).resources.usage.tasks).toBeLessThanOrEqual(20);
  });
});
