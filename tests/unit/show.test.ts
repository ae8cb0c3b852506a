// status's resource lines: what is set is named, and "no limit" where nothing is.
import { describe, expect, it } from 'vitest';
import { resourceRows } from '../../src/view/status-rows.js';
import type { GuestResources } from '../../src/engine/index.js';

const usage = { memoryBytes: 712_704, tasks: 3, userUsec: 10_000, systemUsec: 20_000, ioReadBytes: 0, ioWriteBytes: 0 };
const none = { memoryMax: Infinity, memoryHigh: Infinity, swapMax: Infinity, cpuMaxCores: Infinity, pidsMax: Infinity, io: [] };
const row = (r: [string, string][], k: string) => r.find(([key]) => key === k)?.[1];
const res = (limits: object): GuestResources => ({ limits, usage, events: {}, lxcfs: { note: 'x' } }) as unknown as GuestResources;

describe('status resource lines', () => {
  it('says "no limit" where nothing is set, and reads as a sentence', () => {
    const r = resourceRows(res(none));
    expect(row(r, 'memory')).toBe('696.0K, no limit; 0 OOM kills');
    expect(row(r, 'cpu')).toBe('no limit; used 0m00s01 user, 0m00s02 sys; throttled 0m00s00 in 0 periods');
    expect(row(r, 'pids')).toBe('3, no limit; 0 forks refused');
    for (const [, text] of r) expect(text).not.toMatch(/\bmax\b/);
    const withRl = resourceRows({
      ...res(none),
      rlimits: { nofile: { soft: 1024, hard: 4096 }, core: { soft: 0, hard: Infinity } },
    } as GuestResources);
    expect(row(withRl, 'rlimits')).toBe('nofile 1024:4096, core 0:unlimited');
  });

  it('names each limit that is set, and only those', () => {
    const r = resourceRows(res({ ...none, memoryMax: 64 * 2 ** 20, swapMax: 32 * 2 ** 20, cpuMaxCores: 0.5, cpuWeight: 200, pidsMax: 50 }));
    expect(row(r, 'memory')).toBe('696.0K of 64.0M (swap 32.0M); 0 OOM kills');
    expect(row(r, 'cpu')).toMatch(/^at most 0\.5 cores, weight 200; used/);
    expect(row(r, 'pids')).toBe('3 of 50; 0 forks refused');
    expect(row(resourceRows(res({ ...none, memoryHigh: 2 ** 20, cpuWeight: 100 })), 'memory')).toBe(
      '696.0K, no limit (high 1.0M); 0 OOM kills',
    );
    expect(row(resourceRows(res({ ...none, cpuWeight: 100 })), 'cpu')).toMatch(/^no limit;/);
  });
});
