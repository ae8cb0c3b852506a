// The daemon keeps its guest list between requests: what the CLI (another process) and the API change
// shows in the very next GET /1.0/guests on the real socket, and a guest whose init dies shows stopped.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startDaemon } from '../helpers/daemon.js';
import { IS_ROOT, TestRoot } from '../helpers/host.js';
import { sleep } from '../../src/util/proc.js';

type Row = { name: string; state: string; pid?: number; mark?: string; uptime?: number };

describe.skipIf(!IS_ROOT)('GET /1.0/guests kept by vserverd', () => {
  const t = new TestRoot('vsdl');
  let daemon: ChildProcess | undefined;
  const list = async (q = ''): Promise<Row[]> => {
    const r = await api(t, 'GET', `/1.0/guests${q}`);
    expect(r.status).toBe(200);
    return r.json as Row[];
  };
  const row = async (name: string) => (await list()).find((g) => g.name === name);

  beforeAll(async () => {
    await t.ok(['build', 'l1']);
    await t.ok(['build', 'l2']);
    daemon = await startDaemon(t);
  }, 120_000);
  afterAll(async () => {
    daemon?.kill('SIGKILL');
    await t.cleanup();
  });

  it('shows start, stop, config changes, build and delete made by the CLI in the next request', async () => {
    expect((await list()).map((g) => g.name)).toEqual(['l1', 'l2']);
    // repeated, so that changes closer together than a timestamp tick are seen too
    for (let i = 0; i < 3; i++) {
      await t.ok(['start', 'l1']);
      const up = await row('l1');
      expect(up).toMatchObject({ state: 'running', pid: expect.any(Number) });
      await t.ok(['stop', 'l1']);
      expect(await row('l1')).toMatchObject({ state: 'stopped' });
      expect((await row('l1'))?.pid).toBeUndefined();
    }
    await t.ok(['config', 'l2', 'mark', 'web']);
    expect((await list('?mark=web')).map((g) => g.name)).toEqual(['l2']);
    await t.ok(['config', 'l2', 'mark', 'db']);
    expect(await list('?mark=web')).toEqual([]);
    await t.ok(['build', 'l3']);
    expect((await list()).map((g) => g.name)).toEqual(['l1', 'l2', 'l3']);
    await t.ok(['delete', 'l3']);
    expect((await list()).map((g) => g.name)).toEqual(['l1', 'l2']);
  }, 240_000);

  it('shows a start and stop through the API in the next request, with the uptime counting on', async () => {
    expect((await api(t, 'PUT', '/1.0/guests/l2/state', { action: 'start' })).status).toBe(200);
    expect((await list('?state=running')).map((g) => g.name)).toEqual(['l2']);
    const first = (await row('l2'))!.uptime!;
    await sleep(2100);
    expect((await row('l2'))!.uptime!).toBeGreaterThanOrEqual(first + 2);
    expect((await api(t, 'PUT', '/1.0/guests/l2/state', { action: 'stop' })).status).toBe(200);
    expect(await list('?state=running')).toEqual([]);
  }, 120_000);

  it('shows a guest whose init was killed from the host as stopped', async () => {
    await t.ok(['start', 'l1']);
    const pid = (await row('l1'))!.pid!;
    process.kill(pid, 'SIGKILL');
    // the kernel reports the exit to the daemon; bounded in time, not in a margin the test depends on
    let state = 'running';
    for (let i = 0; i < 100 && state === 'running'; i++) {
      await sleep(100);
      state = (await row('l1'))!.state;
    }
    expect(state).toBe('stopped');
    // and a start after it shows running again
    await t.ok(['start', 'l1']);
    expect(await row('l1')).toMatchObject({ state: 'running' });
  }, 120_000);
});
