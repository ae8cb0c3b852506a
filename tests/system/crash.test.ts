// Commands killed with SIGKILL at named points (VSERVER_CRASH_AT): what a user sees afterwards.
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroupReader } from '../../src/resources/cgroup.js';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

const KILLED = 137;
const M = 2 ** 20;

describe.skipIf(!IS_ROOT)('a limit change killed half way', () => {
  const t = new TestRoot('crashlim');
  afterAll(() => t.cleanup());

  const kernelMemory = () => cgroupReader().limits(t.paths.cgroupName('g'))?.memoryMax;
  const configMemory = () => {
    const cfg = parseToml(readFileSync(t.paths.guestConfig('g'), 'utf8')) as { limits?: { memory?: { max?: string } } };
    return cfg.limits?.memory?.max;
  };
  const status = async () =>
    JSON.parse(await t.ok(['status', 'g', '--json'])) as {
      warnings?: string[];
      resources: { limits: { memoryMax: number } };
    };

  it('is shown by status as it is in force, and settled by the next command on the guest', async () => {
    await t.ok(['build', 'g', '--init', 'cmd', '--', '/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done']);
    await t.ok(['start', 'g']);
    await t.ok(['limit', 'g', 'memory.max', '64M']);
    const next: string[][] = [['limit', 'g', 'pids.max', '100'], ['start', 'g'], ['gc']];
    for (const settle of next) {
      const r = await t.cli(['limit', 'g', 'memory.max', '96M'], { env: { VSERVER_CRASH_AT: 'limit:applied' } });
      expect(r.code).toBe(KILLED);
      // the window: the kernel has the new limit, the config the old one
      expect(kernelMemory()).toBe(96 * M);
      expect(configMemory()).toBe('64M');
      const st = await status();
      expect(st.resources.limits.memoryMax).toBe(96 * M);
      expect(st.warnings?.join('\n')).toMatch(/a limit change was interrupted: the limits in force are those shown here/);
      await t.cli(settle);
      expect(kernelMemory(), settle.join(' ')).toBe(64 * M);
      expect(configMemory()).toBe('64M');
      expect((await status()).warnings ?? []).toEqual([]);
    }
  });

  it('after the config was saved, config and kernel already agree', async () => {
    const r = await t.cli(['limit', 'g', 'memory.max', '96M'], { env: { VSERVER_CRASH_AT: 'limit:saved' } });
    expect(r.code).toBe(KILLED);
    expect(kernelMemory()).toBe(96 * M);
    expect(configMemory()).toBe('96M');
    await t.ok(['limit', 'g', 'pids.max', '100']);
    expect(kernelMemory()).toBe(96 * M);
    await t.ok(['stop', 'g', '--timeout', '0']);
    expect(await t.leaks()).toEqual([]);
  });
});
