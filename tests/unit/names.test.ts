import { describe, expect, it } from 'vitest';
import { allocateContext, checkContextFree } from '../../src/guest/context.js';
import { checkName } from '../../src/guest/name.js';
import { initPlan } from '../../src/guest/init.js';
import { parseGuestConfig } from '../../src/guest/config.js';
import { parseSignal } from '../../src/util/proc.js';

describe('guest names', () => {
  it('accepts lower-case names with digits and dashes', () => {
    for (const n of ['web1', 'a', '0', 'db-primary-2', 'x'.repeat(63)]) expect(checkName(n)).toBe(n);
  });

  it.each([
    ['', /it is empty/],
    ['../x', /characters other than/],
    ['Web1', /upper-case/],
    ['x'.repeat(64), /64 characters long/],
    ['-x', /starts with a dash/],
    ['a b', /characters other than/],
    ['a/b', /characters other than/],
    ['a\nb', /characters other than/],
  ])('refuses %j', (name, why) => {
    expect(() => checkName(name)).toThrow(why);
    try {
      checkName(name);
    } catch (e) {
      expect((e as { code: string }).code).toBe('INVALID_NAME');
    }
  });
});

describe('context numbers', () => {
  it('takes the lowest free one from the start', () => {
    expect(allocateContext(new Set(), 100)).toBe(100);
    expect(allocateContext(new Set([100, 101, 103]), 100)).toBe(102);
  });

  it('wraps to the bottom when the top is full and fails when all are used', () => {
    const used = new Set<number>();
    for (let c = 100; c <= 49151; c++) used.add(c);
    expect(allocateContext(used, 100)).toBe(2);
    for (let c = 2; c < 100; c++) used.add(c);
    expect(() => allocateContext(used, 100)).toThrow(/no free context/);
  });

  it('stays within 2..49151', () => {
    expect(allocateContext(new Set(), 0)).toBe(2);
    expect(allocateContext(new Set(), 99999)).toBe(49151);
  });

  it('names the guest that holds a context', () => {
    expect(() => checkContextFree(new Map([[7, 'web1']]), 7)).toThrow(/context 7 is already used by guest 'web1'/);
    expect(() => checkContextFree(new Map([[7, 'web1']]), 8)).not.toThrow();
  });
});

describe('init styles', () => {
  const cfg = (t: string) => parseGuestConfig('/x.toml', `context = 5\n${t}`);
  it('runs /sbin/init for plain, and halts it with SIGPWR', () => {
    expect(initPlan(cfg(''))).toMatchObject({ args: ['/sbin/init'], stopSignal: 30 });
  });
  it('runs the command for cmd, and stops it with SIGTERM', () => {
    expect(initPlan(cfg('init = "cmd"\ncmd = ["/bin/sleep", "9"]'))).toMatchObject({ args: ['/bin/sleep', '9'], stopSignal: 15 });
  });
  it('stops systemd with SIGRTMIN+3', () => {
    expect(initPlan(cfg('init = "systemd"')).stopSignal).toBe(37);
  });
  it('honours stop_signal', () => {
    expect(initPlan(cfg('stop_signal = "USR2"')).stopSignal).toBe(12);
  });
  it('parses signals in every common spelling', () => {
    expect(parseSignal('SIGPWR')).toEqual({ name: 'PWR', number: 30 });
    expect(parseSignal('term')?.number).toBe(15);
    expect(parseSignal('9')?.number).toBe(9);
    expect(parseSignal('RTMIN+3')?.number).toBe(37);
    expect(parseSignal('SIGNOPE')).toBeUndefined();
    expect(parseSignal('99')).toBeUndefined();
  });
});
