import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  coresProblem,
  countProblem,
  formatCpuList,
  formatSize,
  parseCores,
  parseCount,
  parseCpuList,
  parseFormattedSize,
  parseSize,
  sizeProblem,
} from '../../src/util/units.js';

describe('sizes', () => {
  it('reads bytes, K/M/G/T in powers of 1024, fractions and the words for no limit', () => {
    expect(parseSize(4096)).toBe(4096);
    expect(parseSize('64M')).toBe(64 * 2 ** 20);
    expect(parseSize('64m')).toBe(64 * 2 ** 20);
    expect(parseSize('1.5G')).toBe(1.5 * 2 ** 30);
    expect(parseSize('512KiB')).toBe(512 * 1024);
    expect(parseSize('2 GB')).toBe(2 * 2 ** 30);
    expect(parseSize('max')).toBe('max');
    expect(parseSize('unlimited')).toBe('max');
  });
  it('refuses what is not a size, and says why', () => {
    for (const bad of ['abc', '64X', '', '1..5M', 1.5, NaN, true, null, [1]]) expect(parseSize(bad)).toBeUndefined();
    expect(sizeProblem('-5M')).toBe('must not be negative');
    expect(sizeProblem(-1)).toBe('must not be negative');
    expect(sizeProblem('lots')).toMatch(/must be a size such as 512M/);
    expect(sizeProblem('1G')).toBeUndefined();
  });
  it('prints sizes as vserver-stat does: scaled below 1000, one decimal cut, not rounded', () => {
    expect(formatSize(0)).toBe('0.0K');
    expect(formatSize(928 * 1024)).toBe('928.0K');
    expect(formatSize(999 * 1024 + 1023)).toBe('999.9K');
    expect(formatSize(1000 * 1024)).toBe('0.9M');
    expect(formatSize(153.45 * 2 ** 20)).toBe('153.4M');
    expect(formatSize(1.49 * 2 ** 30)).toBe('1.4G');
    expect(formatSize(3 * 2 ** 40)).toBe('3.0T');
  });
  it('reads its own printed sizes back to within the printed precision', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 50 }), (n) => {
        const text = formatSize(n);
        const unit = 1024 ** (1 + 'KMGT'.indexOf(text.slice(-1)));
        const back = parseFormattedSize(text)!;
        expect(back).toBeLessThanOrEqual(n + 1e-6 * unit);
        expect(n - back).toBeLessThan(0.1 * unit * 1.0001);
      }),
    );
  });
});

describe('counts and cores', () => {
  it('takes whole counts and cores as numbers or text', () => {
    expect(parseCount(50)).toBe(50);
    expect(parseCount('50')).toBe(50);
    expect(parseCount('max')).toBe('max');
    expect(parseCount(1.5)).toBeUndefined();
    expect(countProblem(-3)).toBe('must not be negative');
    expect(parseCores('1.5')).toBe(1.5);
    expect(parseCores(0.5)).toBe(0.5);
    expect(parseCores('max')).toBe('max');
    expect(parseCores(0)).toBeUndefined();
    expect(coresProblem(0)).toMatch(/more than 0/);
    expect(coresProblem('-1')).toBe('must not be negative');
    expect(coresProblem('fast')).toMatch(/CPU cores such as 0.5/);
  });
});

describe('CPU lists', () => {
  it('reads ranges and single CPUs, sorted and unique', () => {
    expect(parseCpuList('0-3,6')).toEqual([0, 1, 2, 3, 6]);
    expect(parseCpuList('6,0-1,1')).toEqual([0, 1, 6]);
    expect(parseCpuList(1)).toEqual([1]);
    for (const bad of ['', '3-1', 'a', '1,', '-1', '0-1-2']) expect(parseCpuList(bad)).toBeUndefined();
  });
  it('prints the shortest list, and reads it back unchanged', () => {
    expect(formatCpuList([0, 1, 2, 3, 6])).toBe('0-3,6');
    expect(formatCpuList([5])).toBe('5');
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { minLength: 1 }), (cpus) => {
        expect(parseCpuList(formatCpuList(cpus))).toEqual([...cpus].sort((a, b) => a - b));
      }),
    );
  });
});
