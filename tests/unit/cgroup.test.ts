import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CgroupV1, CgroupV2, cgroupReader, detectLayout } from '../../src/resources/cgroup.js';

const FIX = join(__dirname, '../fixtures/cgroup');
const tmps: string[] = [];
afterEach(() => {
  for (const t of tmps.splice(0)) rmSync(t, { recursive: true, force: true });
});

describe('cgroup layout', () => {
  it('tells v2, hybrid and v1 apart', () => {
    expect(detectLayout(join(FIX, 'v2'))).toBe('v2');
    expect(detectLayout(join(FIX, 'v1'))).toBe('hybrid');
    const plain = mkdtempSync(join(tmpdir(), 'cg-'));
    tmps.push(plain);
    expect(detectLayout(plain)).toBe('v1');
  });

  it('picks the reader for the layout', () => {
    expect(cgroupReader(join(FIX, 'v2'))).toBeInstanceOf(CgroupV2);
    expect(cgroupReader(join(FIX, 'v1'))).toBeInstanceOf(CgroupV1);
  });
});

describe('cgroup v2 reader', () => {
  const r = new CgroupV2(join(FIX, 'v2'));
  it('counts the processes of a guest and its sub-cgroups', () => {
    expect(r.pids('vserver-web1').sort()).toEqual([1200, 1201, 1202, 1300]);
  });
  it('finds nothing for a guest without a cgroup', () => {
    expect(r.pids('vserver-none')).toEqual([]);
    expect(r.dirs('vserver-none')).toEqual([]);
  });
});

describe('cgroup v2 reader: usage, limits and events', () => {
  const r = new CgroupV2(join(FIX, 'v2'));
  it('reads what a guest used', () => {
    expect(r.usage('vserver-web1')).toEqual({
      cpuUsec: 2_500_000,
      userUsec: 2_000_000,
      systemUsec: 500_000,
      memoryBytes: 47_185_920,
      memoryMax: 64 * 2 ** 20,
      tasks: 4,
      ioReadBytes: 1_048_576 + 2048,
      ioWriteBytes: 4096,
    });
  });
  it('reads the limits in force', () => {
    expect(r.limits('vserver-web1')).toEqual({
      memoryMax: 64 * 2 ** 20,
      memoryHigh: 48 * 2 ** 20,
      swapMax: 0,
      cpuMaxCores: 0.5,
      cpuWeight: 200,
      cpuset: '1',
      pidsMax: 50,
      ioWeight: 100,
      io: [{ device: '254:0', readBps: 10_485_760, writeBps: undefined, readIops: undefined, writeIops: 500 }],
    });
  });
  it('reads "max" as no limit, and the effective cpuset when none is set', () => {
    expect(r.limits('vserver-idle')).toMatchObject({
      memoryMax: Infinity,
      memoryHigh: Infinity,
      swapMax: Infinity,
      cpuMaxCores: Infinity,
      cpuWeight: 100,
      cpuset: '0-1',
      pidsMax: Infinity,
      ioWeight: undefined,
      io: [],
    });
  });
  it('reads OOM kills, throttling, refused forks and the high-water mark', () => {
    expect(r.events('vserver-web1')).toEqual({
      memoryPeak: 67_043_328,
      oomKills: 2,
      throttledUsec: 1_500_000,
      throttledPeriods: 120,
      pidsRefused: 3,
    });
    expect(r.events('vserver-idle')).toEqual({ memoryPeak: undefined, oomKills: 0, throttledUsec: 0, throttledPeriods: 0, pidsRefused: 0 });
  });
  it('answers undefined for a guest without a cgroup', () => {
    expect(r.usage('vserver-none')).toBeUndefined();
    expect(r.limits('vserver-none')).toBeUndefined();
    expect(r.events('vserver-none')).toBeUndefined();
  });
  it('lists the guests by prefix', () => {
    expect(r.list('vserver-').sort()).toEqual(['vserver-idle', 'vserver-web1']);
  });
  it('reads the two counters exec compares, and nothing for a guest without a cgroup', () => {
    expect(r.limitCounters('vserver-web1')).toEqual({ oomKills: 2, pidsRefused: 3 });
    expect(r.limitCounters('vserver-none')).toBeUndefined();
  });
  it('writes device throttles in io.max form', () => {
    const root = mkdtempSync(join(tmpdir(), 'cg-'));
    tmps.push(root);
    cpSync(join(FIX, 'v2'), root, { recursive: true });
    new CgroupV2(root).writeIoLimits('vserver-web1', [{ device: '254:0', readBps: 1024, writeIops: Infinity }]);
    expect(readFileSync(join(root, 'vserver-web1/io.max'), 'utf8')).toBe('254:0 rbps=1024 wbps=max riops=max wiops=max');
  });
});

describe('cgroup v1 reader', () => {
  const r = new CgroupV1(join(FIX, 'v1'), 'hybrid');
  it('counts each co-mounted hierarchy once', () => {
    expect(r.hierarchies.map((h) => h.split('/').pop()).sort()).toEqual([
      'blkio',
      'cpu,cpuacct',
      'cpuset',
      'memory',
      'pids',
      'systemd',
      'unified',
    ]);
  });
  it("reads usage, limits and events from each controller's hierarchy", () => {
    expect(r.usage('vserver-web1')).toEqual({
      cpuUsec: 4_000_000,
      userUsec: 3_000_000,
      systemUsec: 1_000_000,
      memoryBytes: 30 * 2 ** 20,
      memoryMax: 64 * 2 ** 20,
      tasks: 3,
      ioReadBytes: 2_097_152 + 1024,
      ioWriteBytes: 8192,
    });
    expect(r.limits('vserver-web1')).toEqual({
      memoryMax: 64 * 2 ** 20,
      memoryHigh: Infinity,
      swapMax: 32 * 2 ** 20,
      cpuMaxCores: 1.5,
      cpuShares: 512,
      cpuset: '1',
      pidsMax: 50,
      ioWeight: 100,
      io: [{ device: '254:0', readBps: 10_485_760, writeIops: 500 }],
    });
    expect(r.events('vserver-web1')).toEqual({
      memoryPeak: 66_060_288,
      oomKills: 1,
      throttledUsec: 350_000,
      throttledPeriods: 7,
      pidsRefused: 2,
    });
  });
  it('lists the guests from the counting hierarchy', () => {
    expect(r.list('vserver-')).toEqual(['vserver-web1']);
  });
  it('reads the two counters exec compares from the memory and pids hierarchies', () => {
    expect(r.limitCounters('vserver-web1')).toEqual({ oomKills: 1, pidsRefused: 2 });
    expect(r.limitCounters('vserver-none')).toBeUndefined();
  });
  it('looks for the hierarchies only when first asked', () => {
    const root = mkdtempSync(join(tmpdir(), 'cg-'));
    tmps.push(root);
    const lazy = new CgroupV1(root, 'v1');
    cpSync(join(FIX, 'v1'), root, { recursive: true });
    expect(lazy.limitCounters('vserver-web1')).toEqual({ oomKills: 1, pidsRefused: 2 });
  });
  it('clears a device throttle by writing 0', () => {
    const root = mkdtempSync(join(tmpdir(), 'cg-'));
    tmps.push(root);
    cpSync(join(FIX, 'v1'), root, { recursive: true, verbatimSymlinks: true });
    new CgroupV1(root, 'hybrid').writeIoLimits('vserver-web1', [{ device: '254:0', writeBps: 2048 }]);
    expect(readFileSync(join(root, 'blkio/vserver-web1/blkio.throttle.read_bps_device'), 'utf8')).toBe('254:0 0');
    expect(readFileSync(join(root, 'blkio/vserver-web1/blkio.throttle.write_bps_device'), 'utf8')).toBe('254:0 2048');
  });
  it('counts processes from the pids hierarchy', () => {
    expect(r.pids('vserver-web1')).toEqual([2001, 2002, 2003]);
  });
  it('finds the guest in every hierarchy', () => {
    expect(r.dirs('vserver-web1')).toHaveLength(7);
  });
});

describe('removing a cgroup', () => {
  it('removes children first and reports what could not go', () => {
    const root = mkdtempSync(join(tmpdir(), 'cg-'));
    tmps.push(root);
    cpSync(join(FIX, 'v2', 'cgroup.controllers'), join(root, 'cgroup.controllers'));
    mkdirSync(join(root, 'vserver-a/x/y'), { recursive: true });
    mkdirSync(join(root, 'vserver-a/z'), { recursive: true });
    const r = new CgroupV2(root);
    expect(r.remove('vserver-a')).toEqual([]);
    expect(existsSync(join(root, 'vserver-a'))).toBe(false);
    expect(r.remove('vserver-a')).toEqual([]); // again: nothing to do, no error
  });
});

describe('handing a cgroup to a systemd guest', () => {
  beforeEach((ctx) => {
    if (process.getuid?.() !== 0) ctx.skip('needs root: it changes owners of a cgroup tree');
  });
  const copy = (layout: string) => {
    const d = mkdtempSync(join(tmpdir(), 'cg-'));
    tmps.push(d);
    cpSync(join(FIX, layout), d, { recursive: true });
    return d;
  };

  it('on v2: the guest directory and its delegation files only', () => {
    const root = copy('v2');
    const changed = new CgroupV2(root).delegate('vserver-web1', 6553600, 6553600);
    expect(changed).toEqual([join(root, 'vserver-web1')]);
    expect(statSync(join(root, 'vserver-web1')).uid).toBe(6553600);
    expect(statSync(join(root, 'vserver-web1/cgroup.procs')).uid).toBe(6553600);
    expect(statSync(join(root, 'cgroup.procs')).uid).toBe(0);
  });

  it('on v1/hybrid: the named systemd hierarchy (whole subtree) and the unified one, never a controller', () => {
    const root = copy('v1');
    const changed = new CgroupV1(root, 'hybrid').delegate('vserver-web1', 6553600, 6553600).map((d) => d.slice(root.length));
    expect(changed.sort()).toEqual(['/systemd/vserver-web1', '/unified/vserver-web1']);
    expect(statSync(join(root, 'systemd/vserver-web1')).uid).toBe(6553600);
    expect(statSync(join(root, 'memory/vserver-web1')).uid).toBe(0);
    expect(statSync(join(root, 'pids/vserver-web1')).uid).toBe(0);
  });
});
