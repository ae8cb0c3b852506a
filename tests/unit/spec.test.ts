import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildSpec,
  clampRlimits,
  DEFAULT_RLIMITS,
  MASKED_PATHS,
  READONLY_PATHS,
  withNetwork,
  type SpecInput,
} from '../../src/runtime/spec.js';
import { DEFAULT_CAPABILITIES, SECURE_SET } from '../../src/oci/capabilities.js';
import { defaultSeccomp } from '../../src/security/seccomp.js';
import { ociValidator } from '../helpers/oci-schema.js';

const base: SpecInput = {
  name: 'web1',
  context: 1234,
  rootfs: '/var/lib/vserver/guests/web1/rootfs',
  hostname: 'web1.example',
  args: ['/sbin/init'],
  cgroupsPath: '/vserver-web1',
  capabilities: DEFAULT_CAPABILITIES,
  seccomp: defaultSeccomp('x64'),
};

function valid(spec: unknown): void {
  const validate = ociValidator();
  const ok = validate(spec);
  expect(ok, JSON.stringify(validate.errors, null, 1)).toBe(true);
}

describe('the OCI schema check itself', () => {
  it('accepts the spec example and rejects the bad fixtures', () => {
    const dir = join(__dirname, '../fixtures/oci-runtime-spec/test');
    valid(JSON.parse(readFileSync(join(dir, 'good-spec-example.json'), 'utf8')));
    for (const bad of ['bad-linux-hugepage.json', 'bad-linux-netdevice.json']) {
      expect(ociValidator()(JSON.parse(readFileSync(join(dir, bad), 'utf8')))).toBe(false);
    }
  });
});

describe('buildSpec', () => {
  it('produces a config that validates against the OCI runtime-spec schema', () => {
    valid(buildSpec(base));
    valid(buildSpec({ ...base, netns: '/run/vserver/netns/web1', env: { FOO: 'bar' } }));
    valid(buildSpec({ ...base, netns: 'host', args: ['/bin/sh', '-c', 'sleep 1'] }));
    // what a networked start passes: its namespace and the host's /etc files
    const etc = ['hostname', 'hosts', 'resolv.conf'].map((f) => ({
      destination: `/etc/${f}`,
      type: 'bind',
      source: `/run/vserver/bundles/web1/etc/${f}`,
      options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'],
    }));
    valid(withNetwork(buildSpec(base), { netns: '/run/vserver/netns/web1', sysfs: '/run/vserver/sysfs/web1', mounts: etc }));
    valid(withNetwork(buildSpec(base), { netns: 'host', sysfs: '/run/vserver/sysfs/web1', mounts: etc }));
    valid(
      withNetwork(buildSpec(base), {
        mounts: etc,
        hooks: [{ path: '/bin/sh', args: ['sh', '-c', 'true'], env: ['PATH=/bin'], timeout: 30 }],
      }),
    );
  });

  it("lets ping use echo sockets in the guest's own network namespace only, over the ids it has", () => {
    const own = withNetwork(buildSpec({ ...base, idMappings: [{ containerID: 0, hostID: 6553600, size: 65536 }] }), { mounts: [] });
    expect(own.linux.sysctl).toEqual({ 'net.ipv4.ping_group_range': '0 65535' });
    valid(own);
    expect(withNetwork(buildSpec(base), { mounts: [] }).linux.sysctl).toEqual({ 'net.ipv4.ping_group_range': '0 2147483647' });
    // the host's namespace is never changed
    expect(withNetwork(own, { netns: 'host', mounts: [] }).linux.sysctl).toBeUndefined();
  });

  it('speaks an OCI version that runc 1.1 and crun 1.8 accept', () => {
    expect(buildSpec(base).ociVersion).toMatch(/^1\.0\.\d+$/);
  });

  it('gives the guest its own pid, mount, uts, ipc, cgroup and network namespaces', () => {
    const types = buildSpec(base)
      .linux.namespaces.map((n) => n.type)
      .sort();
    expect(types).toEqual(['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']);
  });

  it('joins a given network namespace, or none for host networking', () => {
    expect(buildSpec({ ...base, netns: '/run/x' }).linux.namespaces.find((n) => n.type === 'network')).toEqual({
      type: 'network',
      path: '/run/x',
    });
    expect(buildSpec({ ...base, netns: 'host' }).linux.namespaces.find((n) => n.type === 'network')).toBeUndefined();
  });

  it('takes the network as the host set it up: the namespace to join, its sysfs, the /etc files', () => {
    const etc = { destination: '/etc/hosts', type: 'bind', source: '/b/etc/hosts', options: ['bind', 'ro'] };
    const other = { destination: '/opt', type: 'bind', source: '/srv/opt', options: ['bind'] };
    const s = withNetwork(buildSpec({ ...base, extraMounts: [other] }), {
      netns: '/run/vserver/netns/web1',
      sysfs: '/run/vserver/sysfs/web1',
      mounts: [etc],
    });
    expect(s.linux.namespaces.filter((n) => n.type === 'network')).toEqual([{ type: 'network', path: '/run/vserver/netns/web1' }]);
    expect(s.mounts.filter((m) => m.destination === '/sys')).toEqual([
      { destination: '/sys', type: 'bind', source: '/run/vserver/sysfs/web1', options: ['rbind', 'ro', 'nosuid', 'noexec', 'nodev'] },
    ]);
    expect(s.mounts.slice(-2)).toEqual([etc, other]);
    const host = withNetwork(buildSpec(base), { netns: 'host', mounts: [] });
    expect(host.linux.namespaces.map((n) => n.type)).not.toContain('network');
    expect(host.mounts.find((m) => m.destination === '/sys')?.type).toBe('sysfs');
    expect(withNetwork(buildSpec(base), { mounts: [] }).linux.namespaces).toContainEqual({ type: 'network' });
    const hook = { path: '/bin/sh', args: ['sh'] };
    expect(withNetwork(buildSpec(base), { mounts: [], hooks: [hook] }).hooks).toEqual({ createRuntime: [hook] });
    expect(withNetwork(buildSpec(base), { mounts: [] }).hooks).toBeUndefined();
  });

  it('sets hostname, init and the secure capability set', () => {
    const s = buildSpec(base);
    expect(s.hostname).toBe('web1.example');
    expect(s.process.args).toEqual(['/sbin/init']);
    expect(s.process.capabilities?.bounding).toEqual([...DEFAULT_CAPABILITIES]);
    for (const c of SECURE_SET) expect(s.process.capabilities?.bounding).toContain(c);
    expect(s.process.capabilities?.bounding).not.toContain('CAP_SYS_ADMIN');
    expect(s.process.capabilities?.bounding).not.toContain('CAP_NET_ADMIN');
    expect(s.process.env).toContain('container=vserver');
  });

  it('mounts /proc, a read-only /sys, a minimal /dev with devpts and shm, and /run on tmpfs', () => {
    const m = new Map(buildSpec(base).mounts.map((x) => [x.destination, x]));
    expect(m.get('/proc')?.type).toBe('proc');
    expect(m.get('/sys')?.options).toContain('ro');
    expect(m.get('/dev')?.type).toBe('tmpfs');
    expect(m.get('/dev/pts')?.type).toBe('devpts');
    expect(m.get('/dev/pts')?.options).toContain('newinstance');
    expect(m.get('/dev/shm')?.type).toBe('tmpfs');
    expect(m.get('/run')?.type).toBe('tmpfs');
  });

  it('masks and write-protects the dangerous /proc paths', () => {
    const s = buildSpec(base);
    expect(s.linux.maskedPaths).toEqual(MASKED_PATHS);
    expect(s.linux.maskedPaths).toContain('/proc/kcore');
    expect(s.linux.readonlyPaths).toEqual(READONLY_PATHS);
    expect(s.linux.readonlyPaths).toContain('/proc/sys');
    expect(s.linux.readonlyPaths).toContain('/proc/sysrq-trigger');
  });

  it('blocks open_by_handle_at with seccomp', () => {
    const rule = buildSpec(base).linux.seccomp?.syscalls?.find((r) => r.names.includes('open_by_handle_at'));
    expect(rule?.action).toBe('SCMP_ACT_ERRNO');
  });

  it('records the guest and its context as annotations', () => {
    expect(buildSpec(base).annotations).toEqual({ 'org.linux-vserver.name': 'web1', 'org.linux-vserver.context': '1234' });
  });
});

describe('clampRlimits', () => {
  it('never asks for more than the host allows', () => {
    const host = new Map([['RLIMIT_NOFILE', { hard: 20000 }]]);
    expect(clampRlimits(DEFAULT_RLIMITS, host)).toEqual([{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 20000 }]);
    expect(clampRlimits([{ type: 'RLIMIT_NOFILE', soft: 50000, hard: 60000 }], host)).toEqual([
      { type: 'RLIMIT_NOFILE', soft: 20000, hard: 20000 },
    ]);
    expect(clampRlimits(DEFAULT_RLIMITS, new Map())).toEqual(DEFAULT_RLIMITS);
  });
});
