import { effectiveLimits, userCounts } from '../../src/resources/guest-defaults.js';
import { describe, expect, it } from 'vitest';
import { parseGuestConfig } from '../../src/guest/config.js';
import * as v from 'valibot';
import { LimitsSchema } from '../../src/guest/limits-schema.js';
import { limitExample, limitKeyPath, LIMIT_KEYS } from '../../src/guest/limit-keys.js';
import {
  checkLimits,
  ioDeviceChanges,
  ioDeviceLimits,
  limitValue,
  loweredRlimits,
  toResources,
  wantedRlimits,
  type HostFacts,
} from '../../src/resources/limits.js';
import { buildSpec, clampRlimits, DEFAULT_RLIMITS, ociJson } from '../../src/runtime/spec.js';
import { DEFAULT_CAPABILITIES } from '../../src/oci/capabilities.js';
import { defaultSeccomp } from '../../src/security/seccomp.js';
import { majorMinor } from '../../src/resources/host-facts.js';
import { VsError } from '../../src/util/errors.js';
import { fakeHostFacts } from '../helpers/fake-runtime.js';
import { ociValidator } from '../helpers/oci-schema.js';

const FILE = '/etc/vserver/guests/web1.toml';
const parse = (limits: string) => parseGuestConfig(FILE, `context = 100\n${limits}`).limits;

function error(limits: string): string {
  try {
    parse(limits);
  } catch (e) {
    if (e instanceof VsError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'OK';
}

const v1: HostFacts = { ...fakeHostFacts(['/dev/vda']), layout: 'hybrid' };
const v2: HostFacts = fakeHostFacts(['/dev/vda']);

const ALL = parse(`
[limits.memory]
max = "64M"
high = "48M"
swap = "32M"
[limits.cpu]
weight = 200
max = "1.5"
cpuset = "1"
[limits.pids]
max = 50
[limits.io]
weight = 300
read_bps = { "/dev/vda" = "10M" }
write_iops = { "/dev/vda" = 500 }
[limits.rlimits]
nofile = 4096
core = "unlimited"
nproc = "100:200"
memlock = ["64M", "128M"]
`)!;

describe('the [limits] section', () => {
  it('reads every kind of limit into typed values: bytes, cores, CPU numbers, counts, soft and hard', () => {
    const M = 2 ** 20;
    expect(ALL.memory).toEqual({ max: 64 * M, high: 48 * M, swap: 32 * M });
    expect(ALL.cpu).toEqual({ weight: 200, max: 1.5, cpuset: [1] });
    expect(ALL.pids).toEqual({ max: 50 });
    expect(ALL.io).toEqual({ weight: 300, read_bps: { '/dev/vda': 10 * M }, write_iops: { '/dev/vda': 500 } });
    expect(ALL.rlimits).toEqual({
      nofile: { soft: 4096, hard: 4096 },
      core: { soft: Infinity, hard: Infinity },
      nproc: { soft: 100, hard: 200 },
      memlock: { soft: 64 * M, hard: 128 * M },
    });
    expect(parse('[limits.memory]\nmax = "max"\n[limits.cpu]\nmax = "max"\ncpuset = "3,0-1"')).toEqual({
      memory: { max: 'max' },
      cpu: { max: 'max', cpuset: [0, 1, 3] },
    });
  });

  it('says which key is wrong and what it takes, for each kind of mistake', () => {
    expect(error('[limits.memory]\nmax = "lots"')).toMatch(
      /CONFIG_INVALID: .*web1.toml: key 'limits.memory.max' must be a size such as 512M/,
    );
    expect(error('[limits.memory]\nmax = -5')).toMatch(/key 'limits.memory.max' must not be negative/);
    expect(error('[limits.memory]\nmax = "2M"')).toMatch(/key 'limits.memory.max' must be at least 8M: the runtime's set-up process/);
    expect(error('[limits.pids]\nmax = 0')).toMatch(/key 'limits.pids.max' must be at least 1/);
    expect(error('[limits.cpu]\nmax = -1')).toMatch(/key 'limits.cpu.max' must not be negative/);
    expect(error('[limits.cpu]\ncpuset = "1-"')).toMatch(/key 'limits.cpu.cpuset' must be a list of CPU numbers/);
    expect(error('[limits.cpu]\nweight = 100\nshares = 1024')).toMatch(/key 'limits.cpu.weight' must not be set together with cpu.shares/);
    expect(error('[limits.memory]\nswap = "1G"')).toMatch(/key 'limits.memory.swap' is only allowed together with memory.max/);
    expect(error('[limits.io]\nread_bps = { "sda" = "1M" }')).toMatch(/must name a block device/);
    expect(error('[limits.rlimits]\nnofile = "9:3"')).toMatch(
      /key 'limits.rlimits.nofile' must be a whole number, "unlimited", or "SOFT:HARD"/,
    );
    expect(error('[limits.rlimits]\nnofile = -1')).toMatch(/key 'limits.rlimits.nofile' must not be negative/);
    expect(error('[limits.rlimits]\nfiles = 10')).toMatch(/unknown key 'limits.rlimits.files'; allowed here: as, core, cpu, data/);
    expect(error('[limits]\ndisk = 1')).toMatch(/unknown key 'limits.disk'; allowed here: memory, cpu, pids, io, rlimits/);
  });
});

describe('limits as OCI resources', () => {
  it('on cgroup v1: memory, soft limit, memory+swap, shares, quota, cpuset, pids, blkio', () => {
    expect(toResources(ALL, v1)).toEqual({
      memory: { limit: 64 * 2 ** 20, swap: 96 * 2 ** 20, reservation: 48 * 2 ** 20 },
      cpu: { shares: 2048, quota: 150_000, period: 100_000, cpus: '1' },
      pids: { limit: 50 },
      blockIO: {
        weight: 300,
        throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 10 * 2 ** 20 }],
        throttleWriteIOPSDevice: [{ major: 254, minor: 0, rate: 500 }],
      },
    });
  });

  it('on cgroup v2: memory.high, cpu.weight and the BFQ weight go through unified, exact', () => {
    const r = toResources(ALL, v2);
    expect(r.unified).toEqual({ 'memory.high': String(48 * 2 ** 20), 'cpu.weight': '200', 'io.bfq.weight': '300' });
    expect(r.memory).toEqual({ limit: 64 * 2 ** 20, swap: 96 * 2 ** 20 });
    expect(r.cpu?.shares).toBeUndefined();
    expect(r.blockIO?.weight).toBeUndefined();
  });

  it('converts between shares and weight around the defaults 1024 and 100', () => {
    expect(toResources(parse('[limits.cpu]\nshares = 512'), v2).unified).toEqual({ 'cpu.weight': '50' });
    expect(toResources(parse('[limits.cpu]\nweight = 50'), v1).cpu).toEqual({ shares: 512 });
    expect(toResources(parse('[limits.cpu]\nweight = 10000'), v1).cpu).toEqual({ shares: 102_400 });
  });

  it('sets nothing that the config leaves out, at start', () => {
    expect(toResources(undefined, v1)).toEqual({});
    // 'max' needs nothing at a start: a new cgroup has no limit (and crun 1.8 cannot write one)
    expect(toResources(parse('[limits.pids]\nmax = "max"'), v1)).toEqual({});
    expect(toResources(parse('[limits.cpu]\nmax = "max"'), v1)).toEqual({});
  });

  it('lifts every limit the config does not set when updating a running guest', () => {
    expect(toResources(parse('[limits.memory]\nmax = "64M"'), v1, true)).toEqual({
      memory: { limit: 64 * 2 ** 20, swap: -1, reservation: -1 },
      cpu: { shares: 1024, quota: -1, period: 100_000, cpus: '0-1' },
      pids: { limit: -1 },
    });
    expect(toResources(undefined, v2, true).unified).toEqual({ 'memory.high': 'max', 'cpu.weight': '100' });
    // per-device throttles are written directly when updating (the runtime cannot), so none here
    expect(toResources(ALL, v1, true).blockIO).toEqual({ weight: 300 });
  });

  it('makes a config.json that validates against the OCI schema, unlimited rlimits included', () => {
    const wanted = wantedRlimits(ALL, DEFAULT_RLIMITS);
    const spec = buildSpec({
      name: 'web1',
      context: 100,
      rootfs: '/r',
      hostname: 'web1',
      args: ['/sbin/init'],
      cgroupsPath: '/vserver-web1',
      capabilities: DEFAULT_CAPABILITIES,
      seccomp: defaultSeccomp('x64'),
      rlimits: clampRlimits(wanted, new Map()),
      resources: toResources(ALL, v1),
    });
    expect(spec.linux.resources?.devices).toEqual([{ allow: false, access: 'rwm' }]);
    expect(spec.linux.resources?.pids).toEqual({ limit: 50 });
    const text = ociJson(spec);
    expect(text).toMatch(/"type": "RLIMIT_CORE",\s*"hard": 18446744073709551615,\s*"soft": 18446744073709551615/);
    const validate = ociValidator();
    expect(validate(JSON.parse(text)), JSON.stringify(validate.errors)).toBe(true);
    for (const layout of [v1, v2]) {
      for (const reset of [false, true]) {
        expect(validate({ ...JSON.parse(text), linux: { ...spec.linux, resources: toResources(ALL, layout, reset) } })).toBe(true);
      }
    }
  });
});

describe('limits against the host', () => {
  it('refuses CPUs the host lacks, weights without BFQ, unknown devices and tiny CPU quotas', () => {
    const l = parse(
      `[limits.cpu]\ncpuset = "0-3"\nmax = 0.001\n[limits.io]\nweight = 100\nread_bps = { "/dev/nope" = "1M", "254:0" = "2M" }`,
    );
    expect(checkLimits(l, fakeHostFacts(['/dev/nope', '254:0']))).toEqual([
      { key: 'cpu.cpuset', message: 'names CPUs 2-3, which this host does not have (it has 0-1)' },
      { key: 'cpu.max', message: expect.stringMatching(/at least 0.01 cores/) },
      { key: 'io.weight', message: expect.stringMatching(/BFQ/) },
      { key: 'io.read_bps./dev/nope', message: 'names /dev/nope, which does not exist on this host' },
    ]);
    expect(checkLimits(ALL, { ...v1, ioWeight: true })).toEqual([]);
    expect(checkLimits(parse('[limits.memory]\nmax = "1G"\nswap = "1G"'), { ...v1, swapAccounting: false })[0]?.key).toBe('memory.swap');
  });

  it('turns device rates into MAJ:MIN throttles, and clears devices no longer named', () => {
    const wanted = ioDeviceLimits(ALL, v1);
    expect(wanted).toEqual([{ device: '254:0', readBps: 10 * 2 ** 20, writeIops: 500 }]);
    expect(
      ioDeviceChanges(wanted, [
        { device: '254:0', readBps: 1 },
        { device: '8:0', writeBps: 5 },
      ]),
    ).toEqual([...wanted, { device: '8:0' }]);
  });
});

describe('rlimits', () => {
  it('overrides the defaults with the config; soft and hard, sizes and unlimited', () => {
    const w = wantedRlimits(ALL, DEFAULT_RLIMITS);
    expect(w).toEqual(
      expect.arrayContaining([
        { type: 'RLIMIT_NOFILE', soft: 4096, hard: 4096 },
        { type: 'RLIMIT_CORE', soft: Infinity, hard: Infinity },
        { type: 'RLIMIT_NPROC', soft: 100, hard: 200 },
        { type: 'RLIMIT_MEMLOCK', soft: 64 * 2 ** 20, hard: 128 * 2 ** 20 },
      ]),
    );
    expect(wantedRlimits(undefined, DEFAULT_RLIMITS)).toEqual(DEFAULT_RLIMITS);
  });

  it('names each limit that the host forced lower', () => {
    const w = wantedRlimits(ALL, DEFAULT_RLIMITS);
    const host = new Map([
      ['RLIMIT_NOFILE', { hard: 2000 }],
      ['RLIMIT_CORE', { hard: Infinity }],
    ]);
    expect(loweredRlimits(ALL, clampRlimits(w, host))).toEqual([
      'rlimits.nofile: hard limit lowered to 2000, the most this host lets vserver set',
    ]);
    // the default nofile hard limit (524288) gives way without a word
    expect(loweredRlimits(undefined, clampRlimits(DEFAULT_RLIMITS, host))).toEqual([]);
  });
});

describe('limit keys', () => {
  it('maps each key of vserver limit to its place in the config', () => {
    expect(limitKeyPath('memory.max')).toEqual(['memory', 'max']);
    expect(limitKeyPath('io.read_bps./dev/disk/by-id/x.y')).toEqual(['io', 'read_bps', '/dev/disk/by-id/x.y']);
    expect(limitKeyPath('rlimits.nofile')).toEqual(['rlimits', 'nofile']);
    for (const bad of ['memory', 'memory.low', 'rlimits.files', 'cpu.max.x', 'io.read_bps']) expect(limitKeyPath(bad)).toBeUndefined();
  });
  it('has an example value for every key, and the example is valid', () => {
    for (const k of LIMIT_KEYS) {
      const key = k.replace('DEV', '/dev/vda').replace('NAME', 'nofile');
      const path = limitKeyPath(key)!;
      // swap is only allowed beside a memory max
      const limits: Record<string, unknown> = key === 'memory.swap' ? { memory: { max: '1G' } } : {};
      let t = limits;
      for (const p of path.slice(0, -1)) t = (t[p] ??= {}) as Record<string, unknown>;
      t[path[path.length - 1]!] = limitValue(path, limitExample(key));
      expect(v.safeParse(LimitsSchema, limits).success, `${key} ${limitExample(key)}`).toBe(true);
    }
  });
});

describe('device numbers', () => {
  it('decodes minor numbers of 256 and more, and majors above 4095', () => {
    // glibc makedev: minor low 8 bits at 0, major low 12 bits at 8, minor high bits at 20, major high bits at 32
    const makedev = (maj: bigint, min: bigint) =>
      (min & 0xffn) | ((maj & 0xfffn) << 8n) | ((min & ~0xffn) << 12n) | ((maj & ~0xfffn) << 32n);
    expect(majorMinor(makedev(8n, 0n))).toEqual([8, 0]);
    expect(majorMinor(makedev(259n, 256n))).toEqual([259, 256]); // the 17th nvme partition, say
    expect(majorMinor(makedev(254n, 1048575n))).toEqual([254, 1048575]);
    expect(majorMinor(makedev(4096n, 3n))).toEqual([4096, 3]);
  });
});

describe('guest defaults', () => {
  it('gives a guest that sets nothing a pids limit, a message queue limit and every /proc/sys/user count', () => {
    expect(effectiveLimits(undefined, {})).toEqual({ pids: { max: 4096 }, rlimits: { msgqueue: { soft: 262144, hard: 262144 } } });
    const counts = new Map(userCounts({}));
    expect(counts.get('max_inotify_instances')).toBe(32);
    expect(counts.size).toBe(12);
  });

  it('lets vserver.toml change the defaults, and the guest its own keys', () => {
    const host = { limits: { pids: { max: 100 }, cpu: { weight: 50 } }, user: { max_inotify_instances: 8 } };
    expect(effectiveLimits({ pids: { max: 'max' }, cpu: { shares: 512 } }, host)).toEqual({
      pids: { max: 'max' },
      cpu: { shares: 512 },
      rlimits: { msgqueue: { soft: 262144, hard: 262144 } },
    });
    const nofile = { soft: 10, hard: 10 };
    expect(effectiveLimits({ rlimits: { nofile } }, host)).toEqual({
      pids: { max: 100 },
      cpu: { weight: 50 },
      rlimits: { msgqueue: { soft: 262144, hard: 262144 }, nofile },
    });
    expect(new Map(userCounts(host)).get('max_inotify_instances')).toBe(8);
  });
});
