// exec into a guest that is at its pids or memory limit: vserver's own message with the figures
// and its own exit code (27), also with --json, never the runtime's Go panic; and exec works
// again once the limit is raised.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/guests.js';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

const LIMIT_REACHED = 27;

describe.skipIf(!IS_ROOT)('exec at a guest\'s limits', () => {
  const t = new TestRoot('xlim');
  afterAll(() => t.cleanup());
  const tasks = async (g: string) => (JSON.parse((await t.cli(['status', g, '--json'])).stdout) as { resources: { usage: { tasks: number } } })
    .resources.usage.tasks;

  beforeAll(async () => {
    await t.ok(['build', 'p']);
    await t.ok(['limit', 'p', 'pids.max', '40']);
    await t.ok(['build', 'm']);
    await t.ok(['limit', 'm', 'memory.max', '64M']);
  });

  it('at the pids limit: the limit and its numbers, exit 27, no Go panic', async () => {
    await t.ok(['start', 'p']);
    // guest processes take every pid the limit leaves (the loop stops at the first refused fork)
    await t.cli(['exec', 'p', '--', 'sh', '-c', '(i=0; while [ $i -lt 100 ]; do sleep 1000 & i=$((i+1)); done) >/dev/null 2>&1; exit 0']);
    await until(async () => (await tasks('p')) >= 38, 'the guest to fill its pids');
    const r = await t.cli(['exec', 'p', '--', 'true']);
    expect(r.code).toBe(LIMIT_REACHED);
    expect(r.stderr).toMatch(/^vserver: guest 'p' is at its pids limit: \d+ of 40 processes and threads in use/);
    expect(r.stderr).toMatch(/vserver limit p pids\.max N/);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/pthread_create|goroutine|SIGABRT/);
    expect(r.stderr.split('\n').length).toBeLessThan(5);
    const j = await t.cli(['exec', 'p', '--json', '--', 'true']);
    expect(j.code).toBe(LIMIT_REACHED);
    const err = JSON.parse(`${j.stdout}${j.stderr}`.trim()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('LIMIT_REACHED');
    expect(err.error.message).toMatch(/of 40 processes/);
    // the control: with room under the limit, the same exec runs
    await t.ok(['limit', 'p', 'pids.max', '200']);
    expect((await t.cli(['exec', 'p', '--', 'true'])).code).toBe(0);
    await t.ok(['stop', 'p', '--timeout', '0']);
  });

  it('at the memory limit: OOM at the guest\'s limit and what to do, exit 27', async () => {
    await t.ok(['start', 'm']);
    // /dev/shm is memory: fill it to the limit
    await t.cli(['exec', 'm', '--', 'sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=200 2>/dev/null']);
    const r = await t.cli(['exec', 'm', '--', 'true']);
    expect(r.code).toBe(LIMIT_REACHED);
    expect(r.stderr).toMatch(/^vserver: guest 'm' is at its memory limit \([\d.]+M of 64\.0M in use\): the kernel's OOM killer/);
    expect(r.stderr).toMatch(/raise it with 'vserver limit m memory\.max SIZE', then free memory inside the guest/);
    const j = await t.cli(['exec', 'm', '--json', '--', 'true']);
    expect(j.code).toBe(LIMIT_REACHED);
    expect((JSON.parse(`${j.stdout}${j.stderr}`.trim()) as { error: { code: string } }).error.code).toBe('LIMIT_REACHED');
    // doing what the hint says works
    await t.ok(['limit', 'm', 'memory.max', '128M']);
    await t.ok(['exec', 'm', '--', 'rm', '/dev/shm/fill']);
    await t.ok(['limit', 'm', 'memory.max', '64M']);
    expect((await t.cli(['exec', 'm', '--', 'true'])).code).toBe(0);
    await t.ok(['stop', 'm', '--timeout', '0']);
  });
});
