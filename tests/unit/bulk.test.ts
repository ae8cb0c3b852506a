// Many guests at once: the pool's bound, one result per guest, start groups, selection by mark.
import { describe, expect, it } from 'vitest';
import { bulk, checkJobs, defaultJobs, pool, startGroups } from '../../src/engine/bulk.js';
import { VsError } from '../../src/util/errors.js';
import type { GuestInfo } from '../../src/engine/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('bulk actions', () => {
  it('keeps at most N in flight and the results in the order given', async () => {
    let now = 0;
    let most = 0;
    const out = await pool([5, 1, 4, 2, 3, 0], 3, async (x) => {
      most = Math.max(most, ++now);
      await sleep(x * 3);
      now--;
      return x * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(most).toBe(3);
  });

  it('reports each failure as its own result and goes on with the others', async () => {
    const started: string[] = [];
    const actions = {
      start: async (n: string) => {
        if (n === 'bad') throw new VsError('CONFIG_INVALID', 'broken');
        if (n === 'up') throw new VsError('ALREADY_RUNNING', 'runs');
        started.push(n);
        return { name: n, context: 1, state: 'running' } as GuestInfo;
      },
      stop: async () => undefined,
      restart: async () => ({}) as GuestInfo,
    };
    const r = await bulk(actions, 'start', ['a', 'bad', 'b', 'up', 'a'], { jobs: 2 });
    expect(r.map((x) => [x.name, x.ok, x.error?.code, x.note])).toEqual([
      ['a', true, undefined, undefined],
      ['bad', false, 'CONFIG_INVALID', undefined],
      ['b', true, undefined, undefined],
      ['up', true, undefined, 'already running'],
    ]);
    expect(started.sort()).toEqual(['a', 'b']);
  });

  it('groups by start_order, lowest first, guests without an order last', () => {
    expect(
      startGroups([{ name: 'c', order: 30 }, { name: 'x' }, { name: 'a', order: 10 }, { name: 'b', order: 10 }, { name: 'd', order: 20 }]),
    ).toEqual([['a', 'b'], ['d'], ['c'], ['x']]);
  });

  it('refuses --jobs 0 with the reason', () => {
    expect(() => checkJobs(0)).toThrow(/--jobs must be 1 or more, not 0/);
    expect(checkJobs(3)).toBe(3);
    expect(checkJobs(undefined)).toBeGreaterThanOrEqual(2);
    // stops mostly wait: more of them at once than starts
    expect(defaultJobs(2, 'start')).toBe(4);
    expect(defaultJobs(2, 'stop')).toBe(16);
    expect(defaultJobs(64, 'stop')).toBe(32);
  });
});
