// The util-vserver configuration translated: fixture directories written from util-vserver's documented format.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { readLegacyDir } from '../../src/guest/legacy-read.js';
import { translateLegacy, type LegacyItem } from '../../src/guest/legacy-translate.js';
import { GuestConfigSchema } from '../../src/guest/schema.js';

const FIXTURES = join(__dirname, '../fixtures/legacy');
const plan = (name: string) => translateLegacy(readLegacyDir(join(FIXTURES, name)));
const about = (items: LegacyItem[], file: string) => items.filter((i) => i.file === file);

describe('import-legacy translation', () => {
  it('translates a web guest: context, host name, interfaces, init, limits and capabilities', () => {
    const p = plan('web1');
    expect(p.context).toBe(4242);
    expect(p.name).toBe('web1');
    expect(p.config).toEqual({
      hostname: 'web1.example.org',
      init: 'plain',
      mark: 'web',
      interfaces: [
        { mode: 'macvlan', parent: 'lan0', address: '192.168.77.21/24' },
        { mode: 'macvlan', parent: 'lan0', address: '192.168.77.22/24' },
      ],
      limits: {
        pids: { max: 200 },
        rlimits: { nofile: '1024:4096' },
        memory: { max: 268435456 },
        cpu: { shares: 512, cpuset: '0' },
      },
      security: { capabilities: { add: ['CAP_NET_RAW', 'CAP_SYS_TIME'], drop: ['CAP_MKNOD'] } },
    });
    // the result is a valid guest config once a context is given
    expect(v.safeParse(GuestConfigSchema, { ...p.config, context: 4242 }).success).toBe(true);
  });

  it('gives every file of the directory at least one line in the report', () => {
    for (const name of ['web1', 'job1']) {
      const entries = readLegacyDir(join(FIXTURES, name)).filter((e) => e.kind === 'file');
      const p = plan(name);
      for (const e of entries) expect(about(p.items, e.path).length, `${name}/${e.path}`).toBeGreaterThan(0);
    }
  });

  it('lists what it cannot translate, with what to do instead', () => {
    const p = plan('web1');
    const not = (file: string) =>
      about(p.items, file)
        .filter((i) => i.status === 'not-translated')
        .map((i) => i.note)
        .join('\n');
    expect(not('flags')).toMatch(/sched_hard: a hard CPU limit is limits\.cpu\.max/);
    expect(not('ccapabilities')).toMatch(/BINARY_MOUNT: mounting with binary options is not allowed/);
    expect(not('fstab')).toMatch(/'none\t\/tmp\t\ttmpfs\tsize=16m,mode=1777\t0 0': vserver makes no extra mounts/);
    expect(not('rlimits/as')).toMatch(/limit memory with limits\.memory\.max/);
    expect(not('cpuset/mems')).toMatch(/memory nodes are not set per guest/);
    // rss (128 MiB) and the cgroup's limit (256 MiB) disagree: the report says which one won
    expect(not('rlimits/rss')).toMatch(/limits\.memory\.max = 134217728 gave way to cgroup\/memory\.limit_in_bytes's 268435456/);
    expect(about(p.items, 'interfaces/02/disabled')[0]).toMatchObject({ status: 'covered' });
    expect(
      about(p.items, 'flags')
        .filter((i) => i.status === 'covered')
        .map((i) => i.note)
        .join('\n'),
    ).toMatch(/virt_mem: lxcfs/);
  });

  it('translates a command guest and reports the rest file by file', () => {
    const p = plan('job1');
    expect(p.context).toBeUndefined();
    expect(p.config).toMatchObject({
      hostname: 'job1',
      init: 'cmd',
      cmd: ['/bin/sh', '-c', 'echo started > /tmp/started; exec sleep 1000000'],
      stop_signal: 'SIGTERM',
      stop_timeout: 5,
      env: { GREETING: 'hello' },
      limits: { rlimits: { locks: 1000 }, cpu: { max: 2 } },
    });
    expect(p.config.interfaces).toBeUndefined();
    const status = (file: string) => about(p.items, file).map((i) => i.status);
    for (const f of [
      'context',
      'apps/init/cmd.stop',
      'apps/init/depends',
      'apps/init/runlevel',
      'apps/init/style',
      'rlimits/cpu',
      'rlimits/nofile.min',
      'rlimits/nsock',
      'scripts/pre-start',
      'sysctl/0/setting',
      'dlimits/0/directory',
      'nice',
      'uts/domainname',
      'cgroup/cpu.rt_runtime_us',
      'unknown-file',
      'interfaces/00/ip',
    ]) {
      expect(status(f), f).toContain('not-translated');
    }
    const notes = p.items.map((i) => `${i.file}: ${i.note}`).join('\n');
    expect(notes).toMatch(/apps\/init\/depends: depends on db1: give those guests a lower start_order/);
    expect(notes).toMatch(/apps\/init\/environment: 'not an assignment' is not VAR=VALUE/);
    expect(notes).toMatch(/interfaces\/00\/ip: no device \(dev\) for it/);
    expect(notes).toMatch(/sysctl\/0\/setting: a sysctl \(net\.ipv4\.ip_forward\) is set inside the guest/);
  });

  it('refuses what is not a configuration directory', () => {
    expect(() => readLegacyDir(join(FIXTURES, 'nope'))).toThrow(/does not exist/);
    expect(() => readLegacyDir(join(FIXTURES, 'README.md'))).toThrow(/is not a directory/);
  });
});
