// Several commands at once on one guest, parallel starts of different guests, and a CLI killed mid-start.
import { afterAll, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

/** Exit codes a racing start or stop may legitimately end with: done, already running, not running. */
const CLEAN_OUTCOMES = [0, 6, 7];

describe.skipIf(!IS_ROOT)('concurrency', () => {
  const t = new TestRoot('conc');
  afterAll(() => t.cleanup());

  it('10 parallel starts and stops on one guest leave it consistent', async () => {
    await t.ok(['build', 'c1', '--init', 'cmd', '--', '/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done']);
    const runs = Array.from({ length: 10 }, (_, i) => t.cli(i % 2 === 0 ? ['start', 'c1'] : ['stop', 'c1', '--timeout', '5']));
    const results = await Promise.all(runs);
    for (const r of results) expect(CLEAN_OUTCOMES, r.stderr).toContain(r.code);
    expect(results.filter((r) => r.code === 0).length).toBeGreaterThan(0);
    // what status says is what the runtime has
    const st = JSON.parse((await t.cli(['status', 'c1', '--json'])).stdout);
    const ids = await t.runtimeIds();
    if (st.state === 'running') {
      expect(ids).toEqual(['c1']);
      expect(st.processes).toBeGreaterThanOrEqual(1);
      await t.ok(['stop', 'c1']);
    } else {
      expect(st.state).toBe('stopped');
      expect(ids).toEqual([]);
    }
    expect(await t.leaks()).toEqual([]);
  });

  it('starts different guests in parallel', async () => {
    const names = ['p1', 'p2', 'p3'];
    for (const n of names) await t.ok(['build', n]);
    const results = await Promise.all(names.map((n) => t.cli(['start', n])));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    const list = JSON.parse(await t.ok(['list', '--json'])) as { name: string; state: string; context: number }[];
    const running = list.filter((g) => names.includes(g.name));
    expect(running.map((g) => g.state)).toEqual(['running', 'running', 'running']);
    expect(new Set(running.map((g) => g.context)).size).toBe(3);
    await Promise.all(names.map((n) => t.ok(['stop', n, '--timeout', '0'])));
    expect(await t.leaks()).toEqual([]);
  });

  it('recovers when the CLI is killed with SIGKILL in the middle of a start', async () => {
    await t.ok(['build', 'k1']);
    let interrupted = 0;
    for (const delayMs of [5, 30, 60, 90, 120, 150, 200, 250]) {
      const child = t.spawnCli(['start', 'k1']);
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill('SIGKILL'); // it may have finished already; then this does nothing
      await exited;
      if (child.signalCode === 'SIGKILL') interrupted++;
      // whatever the killed start did, the next start either works or finds the guest running
      const r = await t.cli(['start', 'k1']);
      expect([0, 6], r.stderr).toContain(r.code);
      expect((await t.cli(['running', 'k1'])).code).toBe(0);
      expect((await t.ok(['exec', 'k1', '--', 'hostname'])).trim()).toBe('k1');
      await t.ok(['stop', 'k1', '--timeout', '0']);
      expect(await t.leaks()).toEqual([]);
    }
    expect(interrupted, 'no kill landed while a start was running').toBeGreaterThan(0);
  });
});
