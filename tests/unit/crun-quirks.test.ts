// What vserver does about crun 1.8's differences from runc: no-limit values it cannot write, an exec
// environment that replaces the guest's, and exec limits it does not apply itself.
import { describe, expect, it } from 'vitest';
import { crunUnwritable } from '../../src/runtime/crun-quirks.js';
import { mergeEnv } from '../../src/runtime/oci-cli.js';
import { withExactLimits } from '../../src/runtime/rlimit-launch.js';

describe('crun quirks', () => {
  it('takes "no limit" for pids and the CPU quota out of an update, and says to lift them in the cgroup', () => {
    const r = { pids: { limit: -1 }, cpu: { quota: -1, period: 100000, shares: 1024 }, memory: { limit: -1 } };
    expect(crunUnwritable(r)).toEqual({ pids: true, cpuQuota: true });
    expect(r).toEqual({ cpu: { shares: 1024 }, memory: { limit: -1 } });
    // the control: real limits go to crun as they are
    const set = { pids: { limit: 200 }, cpu: { quota: 50000, period: 100000 } };
    expect(crunUnwritable(set)).toEqual({ pids: false, cpuQuota: false });
    expect(set).toEqual({ pids: { limit: 200 }, cpu: { quota: 50000, period: 100000 } });
  });

  it("keeps the guest's environment under an exec's, the exec's values winning", () => {
    expect(mergeEnv(['PATH=/bin', 'HOME=/root', 'TERM=xterm'], ['TERM=dumb', 'FOO=1'])).toEqual([
      'PATH=/bin',
      'HOME=/root',
      'TERM=dumb',
      'FOO=1',
    ]);
  });

  it("runs crun's exec under exactly the guest's limits, soft and hard", () => {
    const own = new Map([['RLIMIT_NOFILE', { hard: 1 << 20 }]]);
    const limits = [
      { type: 'RLIMIT_NOFILE', soft: 4096, hard: 8192 },
      { type: 'RLIMIT_CORE', soft: Infinity, hard: Infinity },
    ];
    expect(withExactLimits('/usr/bin/crun', ['exec', 'g', 'sh'], limits, own, () => true)).toEqual([
      'prlimit',
      ['--nofile=4096:8192', '--core=unlimited:unlimited', '--', '/usr/bin/crun', 'exec', 'g', 'sh'],
    ]);
    expect(withExactLimits('/usr/bin/crun', ['exec', 'g', 'sh'], [], own, () => true)).toEqual(['/usr/bin/crun', ['exec', 'g', 'sh']]);
    // above our own hard limit without the right to raise it: refused, as for runc
    expect(() => withExactLimits('/usr/bin/crun', ['exec'], [{ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 << 21 }], own, () => false)).toThrow(
      /cannot raise/,
    );
  });
});
