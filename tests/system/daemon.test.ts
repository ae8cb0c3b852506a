// vserverd on its Unix socket with real guests: the same state as the CLI, and guests that do not
// depend on it (kill -9 of the daemon leaves them running; a new daemon finds them).
import type { ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api as daemonApi, DAEMON, socketOf, startDaemon } from '../helpers/daemon.js';
import { IS_ROOT, TestRoot } from '../helpers/host.js';
import { run } from '../../src/util/proc.js';

describe.skipIf(!IS_ROOT)('vserverd', () => {
  const t = new TestRoot('vsd');
  const sock = socketOf(t);
  let daemon: ChildProcess | undefined;

  const api = (method: string, path: string, body?: unknown) => daemonApi(t, method, path, body);

  beforeAll(async () => {
    await t.ok(['build', 'd1']);
    daemon = await startDaemon(t);
  });
  afterAll(async () => {
    daemon?.kill('SIGKILL');
    await t.cleanup();
  });

  it('listens on a socket only root and the vserver group may use', () => {
    const st = statSync(sock);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
  });

  it('starts a guest that the CLI then sees running, and lists it', async () => {
    const r = await api('PUT', '/1.0/guests/d1/state', { action: 'start' });
    expect(r).toMatchObject({ status: 200, json: { name: 'd1', state: 'running' } });
    expect((await t.ok(['exec', 'd1', '--', 'hostname'])).trim()).toBe('d1');
    expect((await api('GET', '/1.0/guests?state=running')).json.map((g: { name: string }) => g.name)).toEqual(['d1']);
  });

  it('refuses a second daemon for the same root', async () => {
    const r = await run(process.execPath, [DAEMON, '--foreground'], { env: t.env(), timeoutMs: 20_000 });
    expect(r.code).toBe(11);
    expect(r.stderr).toMatch(/vserverd already runs/);
  });

  it('leaves guests running when it is killed, and a new daemon finds them', async () => {
    const pid = (await api('GET', '/1.0/guests/d1')).json.pid;
    daemon!.kill('SIGKILL');
    await new Promise((r) => daemon!.once('exit', r));
    expect((await t.cli(['running', 'd1'])).code).toBe(0);
    daemon = await startDaemon(t);
    expect((await api('GET', '/1.0/guests/d1')).json).toMatchObject({ state: 'running', pid });
    // no lock was left behind: the CLI and the new daemon both act on the guest
    expect((await api('PUT', '/1.0/guests/d1/state', { action: 'restart', timeout: 1 })).json).toMatchObject({ state: 'running' });
    expect((await t.cli(['stop', 'd1', '--timeout', '1'])).code).toBe(0);
    expect((await api('PUT', '/1.0/guests/state', { action: 'start', names: ['d1'] })).json).toEqual({
      failed: 0,
      results: [{ name: 'd1', action: 'start', ok: true, state: 'running', context: expect.any(Number) }],
    });
  });

  it('serves metrics that pass promtool and match what status shows', async () => {
    await t.ok(['limit', 'd1', 'memory.max', '64M']);
    const text = await new Promise<string>((resolve, reject) => {
      request({ socketPath: sock, path: '/metrics' }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      })
        .on('error', reject)
        .end();
    });
    const check = await run('promtool', ['check', 'metrics'], { input: text });
    expect({ code: check.code, out: check.stdout + check.stderr }).toEqual({ code: 0, out: '' });
    const st = (await api('GET', '/1.0/guests/d1')).json;
    const value = (m: string) => Number(new RegExp(`^${m}\\{name="d1",context="${st.context}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('vserver_guest_memory_limit_bytes')).toBe(64 * 2 ** 20);
    expect(value('vserver_guest_memory_limit_bytes')).toBe(st.resources.limits.memoryMax);
    expect(value('vserver_guest_processes')).toBe(st.processes);
    expect(value('vserver_guest_memory_bytes')).toBeGreaterThan(0);
    expect(Math.abs(value('vserver_guest_start_time_seconds') - (Date.now() / 1000 - st.uptime))).toBeLessThan(5);
  });

  it('stops and deletes through the API, and removes its socket on SIGTERM', async () => {
    expect((await api('PUT', '/1.0/guests/d1/state', { action: 'stop', timeout: 1 })).json).toMatchObject({ state: 'stopped' });
    expect((await api('DELETE', '/1.0/guests/d1?force=1')).status).toBe(204);
    expect(JSON.parse(await t.ok(['list', '--json']))).toEqual([]);
    daemon!.kill('SIGTERM');
    await new Promise((r) => daemon!.once('exit', r));
    daemon = undefined;
    expect(() => statSync(sock)).toThrow(/ENOENT/);
    expect(await t.leaks()).toEqual([]);
  });
});
