// The API's JSON: no limit (Infinity) goes out as "max" and comes back as Infinity, and only there.
import { describe, expect, it } from 'vitest';
import { reviveJson, wireJson } from '../../src/wire/json.js';

describe('wire JSON', () => {
  it('writes Infinity as "max", where JSON.stringify alone would write null', () => {
    const limits = { memoryMax: Infinity, pidsMax: 50, io: [{ device: '8:0', readBps: Infinity }] };
    expect(JSON.stringify(limits)).toContain('"memoryMax":null');
    expect(wireJson(limits)).toBe('{"memoryMax":"max","pidsMax":50,"io":[{"device":"8:0","readBps":"max"}]}');
  });

  it('reads "max" back as Infinity at the figures that can be unlimited, and leaves other strings alone', () => {
    const info = {
      hostname: 'max',
      mark: 'max',
      resources: { limits: { memoryMax: Infinity, cpuMaxCores: 0.5 }, rlimits: { core: { soft: 0, hard: Infinity } } },
    };
    expect(reviveJson(wireJson(info))).toEqual(info);
    expect(JSON.parse(wireJson(info))).toMatchObject({ hostname: 'max', resources: { limits: { memoryMax: 'max' } } });
  });
});
