// vserver check's judgement of host facts (pure).
import { describe, expect, it } from 'vitest';
import { evaluate, type HostFacts } from '../../src/engine/check.js';
import { BUILTIN_USER_COUNTS } from '../../src/guest/defaults-schema.js';
import { escapeRows } from '../../src/engine/escape-check.js';
import { isOrphanEscapeGuest } from '../../src/engine/escape-guests.js';

const good = (): HostFacts => ({
  namespaces: { mnt: true, uts: true, ipc: true, pid: true, net: true, user: true, cgroup: true },
  maxUserNamespaces: 1000,
  seccomp: true,
  kernel: { overlay: true, veth: true, bridge: true, macvlan: true, ipvlan: true, nf_tables: true },
  nft: true,
  cgroupLayout: 'v2',
  controllers: { cpu: true, memory: true, pids: true },
  runtime: { name: 'runc', path: '/usr/sbin/runc', version: '1.1.5' },
  lxcfs: '/usr/bin/lxcfs',
  debootstrap: '/usr/sbin/debootstrap',
  sysctl: { 'fs.inotify.max_user_instances': '8192', 'fs.inotify.max_user_watches': '1048576', 'kernel.pid_max': '4194304' },
  msgqueue: Infinity,
  share: { pids: 4096, msgqueue: 262144, user: { ...BUILTIN_USER_COUNTS } },
  guests: 3,
  freeContexts: 100,
  disk: { path: '/var', freeBytes: 50 * 1024 ** 3, freeInodes: 1e6 },
  trees: [
    {
      kind: 'guest',
      name: 'web1',
      dir: '/var/lib/vserver/guests/web1',
      found: { uid: 0, gid: 131072, mode: 0o710 },
      want: { uid: 0, gid: 131072, mode: 0o710 },
    },
  ],
});
const item = (h: HostFacts, name: string) => evaluate(h).find((i) => i.item === name);

describe('vserver check', () => {
  it('says OK to a host with everything', () => {
    expect(evaluate(good()).filter((i) => i.status !== 'OK')).toEqual([]);
  });

  it('fails without a runtime, and says how to get one', () => {
    const h = { ...good(), runtime: { error: 'no OCI runtime found' } };
    expect(item(h, 'runtime')).toMatchObject({
      status: 'FAIL',
      detail: 'no OCI runtime found',
      fix: expect.stringMatching(/apt-get install runc/),
    });
  });

  it("warns when a host total cannot hold every guest's share and root's own", () => {
    const h = good();
    h.sysctl['fs.inotify.max_user_instances'] = '128'; // 3 guests + root need 4 x 32
    expect(item(h, 'fs.inotify.max_user_instances')?.status).toBe('OK');
    h.guests = 4;
    expect(item(h, 'fs.inotify.max_user_instances')).toMatchObject({
      status: 'WARN',
      detail: "128: room for 3 guests' shares of 32, this installation has 4",
      fix: expect.stringMatching(/at least 160\)$/),
    });
  });

  it('fails on a tree directory others can pass, or that is a link', () => {
    const h = good();
    h.trees[0]!.found = { uid: 0, gid: 131072, mode: 0o711 };
    expect(item(h, 'permissions of guest web1')?.status).toBe('FAIL');
    h.trees[0]!.found = 'link';
    expect(item(h, 'permissions of guest web1')).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/symbolic link/) });
    h.trees[0]!.found = { uid: 0, gid: 0, mode: 0o710 }; // a wrong group only keeps the guest out
    expect(item(h, 'permissions of guest web1')?.status).toBe('WARN');
  });
});

describe('vserver check --escape', () => {
  it('turns the helper lines into rows: refused, got through, not tried, no answer', () => {
    const lines = new Map([
      ['mount', 'BLOCKED EPERM mount tmpfs'],
      ['procsys', 'ESCAPED wrote /proc/sys/kernel/core_pattern'],
    ]);
    expect(
      escapeRows(lines, [
        { name: 'mount a filesystem', key: 'mount' },
        { name: 'core_pattern', key: 'procsys' },
        { name: 'sysrq', key: 'sysrq', skipped: 'no /proc/sysrq-trigger' },
        { name: 'bpf', key: 'bpf' },
      ]),
    ).toEqual([
      { attempt: 'mount a filesystem', result: 'blocked', detail: 'EPERM mount tmpfs' },
      { attempt: 'core_pattern', result: 'ESCAPED', detail: 'wrote /proc/sys/kernel/core_pattern' },
      { attempt: 'sysrq', result: 'skipped', detail: 'no /proc/sysrq-trigger' },
      { attempt: 'bpf', result: 'no answer', detail: 'the helper printed nothing for it' },
    ]);
  });

  it('counts a throw-away guest as left over once the process that made it is gone', () => {
    const alive = (pid: number) => (pid === 42 ? '777' : undefined);
    expect(isOrphanEscapeGuest('escape-check-42-777', alive)).toBe(false);
    expect(isOrphanEscapeGuest('escape-check-42-777-priv', alive)).toBe(false);
    expect(isOrphanEscapeGuest('escape-check-42-778', alive)).toBe(true); // the pid was reused
    expect(isOrphanEscapeGuest('escape-check-43-777', alive)).toBe(true);
    expect(isOrphanEscapeGuest('web1', alive)).toBe(false);
  });
});
