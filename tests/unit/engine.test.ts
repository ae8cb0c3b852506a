import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { launch } from '../../src/engine/network.js';
import { findStaticBusybox } from '../../src/storage/busybox.js';
import { VsError } from '../../src/util/errors.js';
import { fakeHostFacts, FakeCgroups, FakeLxcfs, FakeRuntime } from '../helpers/fake-runtime.js';

let root: string;
let rt: FakeRuntime;
let cg: FakeCgroups;
let engine: Engine;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vse-'));
  chmodSync(root, 0o755); // an unprivileged guest's root must pass through it
  rt = new FakeRuntime();
  cg = new FakeCgroups();
  engine = new Engine(root, { runtime: rt, cgroups: cg, hostFacts: fakeHostFacts, lxcfs: new FakeLxcfs() });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A guest made by hand (no busybox needed): a config and an empty tree. */
function fakeGuest(name: string, context: number, extra = ''): void {
  mkdirSync(join(root, 'etc/vserver/guests'), { recursive: true });
  writeFileSync(join(root, `etc/vserver/guests/${name}.toml`), `context = ${context}\ninit = "cmd"\ncmd = ["/bin/sh"]\n${extra}`);
  mkdirSync(join(root, `var/lib/vserver/guests/${name}/rootfs`), { recursive: true });
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VsError) return e.code;
    throw e;
  }
  return 'OK';
}

describe('start', () => {
  it('writes a bundle, starts the runtime and reports the guest running', async () => {
    fakeGuest('web1', 100);
    const info = await engine.start('web1');
    expect(info).toMatchObject({ name: 'web1', context: 100, state: 'running', pid: process.pid });
    const spec = rt.containers.get('web1')!.spec;
    expect(spec.process.args).toEqual(['/bin/sh']);
    expect(spec.hostname).toBe('web1');
    expect(spec.root.path).toBe(join(root, 'var/lib/vserver/guests/web1/rootfs'));
    expect(readFileSync(join(root, 'var/log/vserver/web1.log'), 'utf8')).toMatch(/starting guest web1 \(context 100\)/);
  });

  it('gives a guest the default pids and message queue limits, and its user namespace counts through a hook', async () => {
    fakeGuest('web1', 100);
    fakeGuest('own', 101, '[limits.pids]\nmax = 10\n');
    fakeGuest('priv', 102, 'privileged = true\n');
    mkdirSync(join(root, 'etc/vserver'), { recursive: true });
    writeFileSync(join(root, 'etc/vserver/vserver.toml'), '[guest_defaults.user]\nmax_inotify_instances = 8\n');
    for (const g of ['web1', 'own', 'priv']) await engine.start(g);
    const spec = (g: string) => rt.containers.get(g)!.spec;
    expect(spec('web1').linux.resources?.pids).toEqual({ limit: 4096 });
    expect(spec('own').linux.resources?.pids).toEqual({ limit: 10 });
    expect(spec('web1').process.rlimits).toContainEqual({ type: 'RLIMIT_MSGQUEUE', soft: 262144, hard: 262144 });
    const hook = spec('web1').hooks!.createRuntime![0]!;
    expect(hook.args).toContain('max_inotify_instances=8');
    expect(hook.args).toContain('max_user_namespaces=256');
    // a privileged guest has no user namespace of its own to set
    expect(spec('priv').hooks?.createRuntime ?? []).toEqual([]);
  });

  it('refuses a running guest and changes nothing', async () => {
    fakeGuest('web1', 100);
    await engine.start('web1');
    rt.calls = [];
    expect(await code(engine.start('web1'))).toBe('ALREADY_RUNNING');
    expect(rt.calls).toEqual([]);
  });

  it('leaves no bundle, runtime state or cgroup behind when the runtime fails', async () => {
    fakeGuest('web1', 100);
    rt.failRun = 'boom';
    await expect(engine.start('web1')).rejects.toThrow('boom');
    expect(existsSync(join(root, 'run/vserver/bundles/web1'))).toBe(false);
    expect(rt.calls.at(-1)).toBe('delete web1 force');
    expect(rt.containers.size).toBe(0);
    expect(cg.removed.at(-1)).toMatch(/-web1$/);
    expect(readdirSync(join(root, 'run/vserver/locks'))).toEqual([]);
  });

  it('says what its undo could not remove when the runtime fails', async () => {
    fakeGuest('web1', 100);
    rt.failRun = 'boom';
    rt.failDelete = 'container is busy';
    await expect(engine.start('web1')).rejects.toThrow(/boom \(and cleaning up failed: runtime state: .*container is busy\)/);
  });

  it('says what it could not remove after a guest whose init died at once', async () => {
    fakeGuest('web1', 100);
    rt.dieAtStart = true;
    await expect(engine.start('web1')).rejects.toThrow(/stopped right after it started$/);
    rt.failDelete = 'container is busy';
    await expect(engine.start('web1')).rejects.toThrow(/stopped right after it started \(and cleaning up failed: .*container is busy\)/);
  });

  it('warns about what an earlier run left and could not be removed', async () => {
    fakeGuest('web1', 100);
    rt.containers.set('web1', { id: 'web1', pid: 0, status: 'stopped', created: '', spec: {} as never });
    rt.failDelete = 'container is busy';
    const info = await engine.start('web1');
    expect(info.warnings?.join('\n')).toMatch(/an earlier run left something that could not be removed: .*container is busy/);
    rt.failDelete = undefined;
    rt.containers.set('web1', { id: 'web1', pid: 0, status: 'stopped', created: '', spec: {} as never });
    expect((await engine.start('web1')).warnings ?? []).toEqual([]);
  });

  it('says so when the rootfs is missing, before touching the runtime', async () => {
    fakeGuest('web1', 100);
    rmSync(join(root, 'var/lib/vserver/guests/web1/rootfs'), { recursive: true });
    writeFileSync(join(root, 'var/lib/vserver/guests/web1/rootfs'), 'not a dir');
    expect(await code(engine.start('web1'))).toBe('ROOTFS_MISSING');
    expect(rt.calls.filter((c) => c.startsWith('run'))).toEqual([]);
  });

  it('reports unknown guests, bad names and broken configs with their own codes', async () => {
    expect(await code(engine.start('nope'))).toBe('NOT_FOUND');
    expect(await code(engine.start('../x'))).toBe('INVALID_NAME');
    fakeGuest('bad', 100, 'bogus = 1\n');
    expect(await code(engine.start('bad'))).toBe('CONFIG_INVALID');
  });
});

describe('stop', () => {
  it('refuses a guest that is not running', async () => {
    fakeGuest('web1', 100);
    expect(await code(engine.stop('web1'))).toBe('NOT_RUNNING');
  });
});

describe('delete', () => {
  it('refuses a running guest without --force and keeps its files', async () => {
    fakeGuest('web1', 100);
    await engine.start('web1');
    expect(await code(engine.delete('web1'))).toBe('ALREADY_RUNNING');
    expect(existsSync(join(root, 'var/lib/vserver/guests/web1/rootfs'))).toBe(true);
    expect(existsSync(join(root, 'etc/vserver/guests/web1.toml'))).toBe(true);
  });

  it('removes only that guest', async () => {
    fakeGuest('web1', 100);
    fakeGuest('web2', 101);
    await engine.delete('web1');
    expect(readdirSync(join(root, 'var/lib/vserver/guests'))).toEqual(['web2']);
    expect(readdirSync(join(root, 'etc/vserver/guests'))).toEqual(['web2.toml']);
  });

  it('does not follow a symlink out of the guest tree', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'vse-outside-'));
    writeFileSync(join(outside, 'precious'), 'keep me');
    try {
      fakeGuest('web1', 100);
      const { symlinkSync } = await import('node:fs');
      symlinkSync(outside, join(root, 'var/lib/vserver/guests/web1/rootfs/escape'));
      await engine.delete('web1');
      expect(readFileSync(join(outside, 'precious'), 'utf8')).toBe('keep me');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('can delete a guest whose config is broken', async () => {
    fakeGuest('bad', 100, 'bogus = 1\n');
    await engine.delete('bad');
    expect(existsSync(join(root, 'etc/vserver/guests/bad.toml'))).toBe(false);
  });
});

describe('list', () => {
  it('shows every guest with its state, and broken configs as broken', async () => {
    fakeGuest('a', 100);
    fakeGuest('b', 101);
    fakeGuest('c', 102, 'bogus = 1\n');
    await engine.start('b');
    const l = await engine.list();
    expect(l.map((g) => [g.name, g.state])).toEqual([
      ['a', 'stopped'],
      ['b', 'running'],
      ['c', 'broken'],
    ]);
    expect(l[2]!.error).toMatch(/unknown key 'bogus'/);
  });
});

describe('config', () => {
  it('changes one key after validating the whole file', async () => {
    fakeGuest('web1', 100);
    await engine.setConfig('web1', 'stop_timeout', 10);
    expect((await engine.config('web1')).stop_timeout).toBe(10);
    await expect(engine.setConfig('web1', 'init', 'upstart')).rejects.toThrow(/key 'init' must be one of/);
    expect((await engine.config('web1')).init).toBe('cmd');
    await engine.setConfig('web1', 'stop_timeout', undefined);
    expect((await engine.config('web1')).stop_timeout).toBeUndefined();
  });

  it('keeps contexts unique', async () => {
    fakeGuest('a', 100);
    fakeGuest('b', 101);
    await expect(engine.setConfig('b', 'context', 100)).rejects.toThrow(/context 100 is already used by guest 'a'/);
    await engine.setConfig('b', 'context', 200);
    expect((await engine.config('b')).context).toBe(200);
  });
});

describe('limits', () => {
  const LIMITS =
    '[limits.memory]\nmax = "64M"\n[limits.cpu]\nmax = 0.5\ncpuset = "1"\n[limits.pids]\nmax = 50\n' +
    '[limits.io.read_bps]\n"/dev/vda" = "1M"\n[limits.rlimits]\nnofile = 4096\n';
  const configText = () => readFileSync(join(root, 'etc/vserver/guests/web1.toml'), 'utf8');

  it('starts a guest with its resources, rlimits and the lxcfs mounts in the spec', async () => {
    const lx = new FakeLxcfs({
      mountpoint: '/l',
      mounts: [{ destination: '/proc/meminfo', type: 'bind', source: '/l/proc/meminfo', options: ['bind', 'ro'] }],
    });
    engine = new Engine(root, { runtime: rt, cgroups: cg, hostFacts: fakeHostFacts, lxcfs: lx });
    fakeGuest('web1', 100, LIMITS);
    await engine.start('web1');
    const spec = rt.containers.get('web1')!.spec;
    expect(spec.linux.resources).toMatchObject({
      memory: { limit: 64 * 2 ** 20 },
      cpu: { quota: 50_000, period: 100_000, cpus: '1' },
      pids: { limit: 50 },
      blockIO: { throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 2 ** 20 }] },
    });
    expect(spec.process.rlimits).toContainEqual({ type: 'RLIMIT_NOFILE', soft: 4096, hard: 4096 });
    expect(spec.mounts.at(-1)).toMatchObject({ destination: '/proc/meminfo', source: '/l/proc/meminfo' });
    expect(lx.prepared).toBe(1);
  });

  it('refuses to start with a cpuset the host does not have, naming the file and key', async () => {
    fakeGuest('web1', 100, '[limits.cpu]\ncpuset = "5"\n');
    await expect(engine.start('web1')).rejects.toThrow(/web1.toml: key 'limits.cpu.cpuset' names CPU 5, which this host does not have/);
    expect(rt.calls.filter((c) => c.startsWith('run'))).toEqual([]);
  });

  it('saves a limit of a stopped guest for its next start', async () => {
    fakeGuest('web1', 100);
    const r = await engine.setLimit('web1', 'memory.max', '256M');
    expect(r).toMatchObject({ live: false, value: '256M', limits: { memory: { max: '256M' } } });
    expect((await engine.config('web1')).limits?.memory?.max).toBe('256M');
    expect(rt.calls.filter((c) => c.startsWith('update'))).toEqual([]);
  });

  it('updates a running guest through the runtime, lifting what the config no longer sets, then saves', async () => {
    fakeGuest('web1', 100, LIMITS);
    await engine.start('web1');
    await engine.setLimit('web1', 'memory.max', '256M');
    expect(rt.updates.at(-1)).toMatchObject({ memory: { limit: 256 * 2 ** 20, swap: -1 }, pids: { limit: 50 }, cpu: { cpus: '1' } });
    expect(cg.ioWrites.at(-1)).toEqual([{ device: '254:0', readBps: 2 ** 20 }]);
    expect(configText()).toMatch(/max = "256M"/);
    await engine.setLimit('web1', 'pids.max', 'max');
    expect(rt.updates.at(-1)?.pids).toEqual({ limit: -1 });
    // a device no longer named is cleared
    cg.io = [{ device: '254:0', readBps: 2 ** 20 }];
    await engine.setLimit('web1', 'io.read_bps./dev/vda', 'max');
    expect(cg.ioWrites.at(-1)).toEqual([{ device: '254:0', readBps: Infinity }]);
  });

  it('leaves the config untouched and puts the old limits back when the runtime refuses', async () => {
    fakeGuest('web1', 100, LIMITS);
    await engine.start('web1');
    const before = configText();
    rt.failNextUpdate = 'unable to set memory limit to 16777216 (current usage: 42369024)';
    const e = await engine.setLimit('web1', 'memory.max', '16M').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VsError);
    expect((e as VsError).hint).toMatch(/^the config was not changed/);
    expect(configText()).toBe(before);
    expect(rt.updates.at(-1)?.memory?.limit).toBe(64 * 2 ** 20);
  });

  it('refuses bad values and unknown keys with their own codes and changes nothing', async () => {
    fakeGuest('web1', 100, LIMITS);
    const before = configText();
    const cases: [string, string, string, RegExp][] = [
      ['memory.max', 'lots', 'INVALID_VALUE', /memory.max must be a size such as 512M/],
      ['memory.max', '-5', 'INVALID_VALUE', /memory.max must not be negative/],
      ['memory.max', '1M', 'INVALID_VALUE', /at least 8M/],
      ['cpu.cpuset', '0-7', 'INVALID_VALUE', /names CPUs 2-7, which this host does not have \(it has 0-1\)/],
      ['io.read_bps./dev/nope', '1M', 'INVALID_VALUE', /\/dev\/nope, which does not exist/],
      ['io.weight', '100', 'INVALID_VALUE', /BFQ/],
      ['memory.low', '1G', 'USAGE', /unknown limit key 'memory.low'/],
    ];
    for (const [key, value, want, msg] of cases) {
      const e = await engine.setLimit('web1', key, value).catch((x: unknown) => x);
      expect({ key, code: (e as VsError).code }).toEqual({ key, code: want });
      expect((e as VsError).message).toMatch(msg);
    }
    expect(configText()).toBe(before);
    expect(await code(engine.setLimit('nope', 'memory.max', '1G'))).toBe('NOT_FOUND');
  });

  it('gives new commands in a running guest the new rlimits through the bundle', async () => {
    fakeGuest('web1', 100, LIMITS);
    await engine.start('web1');
    await engine.setLimit('web1', 'rlimits.nofile', '2048:4096');
    const spec = JSON.parse(readFileSync(join(root, 'run/vserver/bundles/web1/config.json'), 'utf8'));
    expect(spec.process.rlimits).toContainEqual({ type: 'RLIMIT_NOFILE', soft: 2048, hard: 4096 });
  });
});

describe('build (busybox template)', () => {
  beforeEach((ctx) => {
    if (!findStaticBusybox()) ctx.skip('no static busybox on this host (apt-get install busybox-static)');
  });
  it('makes a guest with a unique context and a real busybox tree', async () => {
    const a = await engine.build('a');
    const b = await engine.build('b');
    expect(a.context).toBe(100);
    expect(b.context).toBe(101);
    const rootfs = join(root, 'var/lib/vserver/guests/a/rootfs');
    expect(readFileSync(join(rootfs, 'etc/hostname'), 'utf8')).toBe('a\n');
    expect(readFileSync(join(rootfs, 'etc/passwd'), 'utf8')).toMatch(/^root:x:0:0:/);
    expect(readFileSync(join(rootfs, 'etc/inittab'), 'utf8')).toMatch(/::sysinit:\/etc\/init.d\/rcS/);
    expect(existsSync(join(rootfs, 'sbin/init'))).toBe(true);
    expect(existsSync(join(rootfs, 'bin/sh'))).toBe(true);
    expect(readFileSync(join(root, 'etc/vserver/guests/a.toml'), 'utf8')).toMatch(/context = 100/);
  });

  it('refuses an existing name, a taken context and an unknown template', async () => {
    await engine.build('a', { context: 500 });
    expect(await code(engine.build('a'))).toBe('ALREADY_EXISTS');
    expect(await code(engine.build('b', { context: 500 }))).toBe('ALREADY_EXISTS');
    expect(await code(engine.build('c', { context: 1 }))).toBe('INVALID_VALUE');
    expect(await code(engine.build('d', { source: { kind: 'template', name: 'gentoo' } }))).toBe('NOT_FOUND');
    expect(readdirSync(join(root, 'var/lib/vserver/guests'))).toEqual(['a']);
  });

  it('clears what a killed build left and reuses its context', async () => {
    mkdirSync(join(root, 'var/lib/vserver/guests/.build-x-100/rootfs'), { recursive: true });
    const g = await engine.build('y');
    expect(g.context).toBe(100);
    expect(readdirSync(join(root, 'var/lib/vserver/guests'))).toEqual(['y']);
  });

  it('builds guests in parallel without sharing a context', async () => {
    const infos = await Promise.all(['p1', 'p2', 'p3', 'p4'].map((n) => engine.build(n)));
    expect(new Set(infos.map((i) => i.context)).size).toBe(4);
  });
});

describe('init styles at start', () => {
  it('hands a systemd guest its cgroup between create and start, with a writable cgroup mount and /run/lock', async () => {
    fakeGuest('sd', 120, '');
    writeFileSync(join(root, 'etc/vserver/guests/sd.toml'), 'context = 120\ninit = "systemd"\n');
    await engine.start('sd');
    expect(rt.calls).toEqual(['create sd', 'start sd']);
    expect(cg.delegated).toEqual([`vserver-${engine.deps.paths.instance}-sd ${120 * 65536}`]);
    const spec = rt.containers.get('sd')!.spec;
    expect(spec.process.args).toEqual(['/lib/systemd/systemd']);
    expect(spec.mounts!.find((m) => m.destination === '/sys/fs/cgroup')!.options).toContain('rw');
    expect(spec.mounts!.map((m) => m.destination)).toContain('/run/lock');
    expect(spec.process.env).toContain('container=vserver');
  });

  it('lets sysvinit end its own pid namespace at halt (CAP_SYS_BOOT), and no other style', async () => {
    writeFileSync(join(root, 'x'), '');
    fakeGuest('sv', 121);
    writeFileSync(join(root, 'etc/vserver/guests/sv.toml'), 'context = 121\ninit = "sysv"\n');
    fakeGuest('pl', 122);
    writeFileSync(join(root, 'etc/vserver/guests/pl.toml'), 'context = 122\ninit = "plain"\n');
    await engine.start('sv');
    await engine.start('pl');
    expect(rt.calls).toEqual(['run sv', 'run pl']);
    expect(rt.containers.get('sv')!.spec.process.capabilities!.bounding).toContain('CAP_SYS_BOOT');
    expect(rt.containers.get('pl')!.spec.process.capabilities!.bounding).not.toContain('CAP_SYS_BOOT');
    expect(rt.containers.get('sv')!.spec.mounts!.find((m) => m.destination === '/sys/fs/cgroup')!.options).toContain('ro');
  });
});

describe('templates and storage keys', () => {
  function fakeTemplate(name: string, context: number): void {
    mkdirSync(join(root, `var/lib/vserver/templates/${name}/rootfs/etc`), { recursive: true });
    writeFileSync(
      join(root, `var/lib/vserver/templates/${name}/template.toml`),
      `context = ${context}\nsource = "tarball"\nfrom = "/x.tar"\ninit = "plain"\ncreated = "2026-01-01T00:00:00Z"\n`,
    );
  }

  it('refuses to change how a tree is stored through config', async () => {
    fakeGuest('web1', 100);
    expect(await code(engine.setConfig('web1', 'backend', 'overlay'))).toBe('CONFIG_INVALID');
    expect(await code(engine.setConfig('web1', 'template', 'other'))).toBe('INVALID_VALUE');
    expect(await code(engine.setConfig('web1', 'isolated', true))).toBe('INVALID_VALUE');
  });

  it('refuses overlay builds that cannot share a template', async () => {
    fakeTemplate('t1', 300);
    expect(await code(engine.build('a', { backend: 'overlay' }))).toBe('USAGE');
    expect(await code(engine.build('a', { source: { kind: 'template', name: 't1' }, backend: 'overlay', isolated: true }))).toBe('USAGE');
    expect(await code(engine.build('a', { source: { kind: 'template', name: 't1' }, backend: 'overlay', privileged: true }))).toBe('USAGE');
    expect(await code(engine.build('a', { source: { kind: 'tarball', file: '/x.tar' }, backend: 'overlay' }))).toBe('USAGE');
    expect(await code(engine.build('a', { source: { kind: 'template', name: 'nope' } }))).toBe('NOT_FOUND');
    expect(await code(engine.build('a', { source: { kind: 'clone', guest: 'a' } }))).toBe('USAGE');
  });

  it('keeps a template while an overlay guest uses it, and its context from new guests', async () => {
    fakeTemplate('t1', 100);
    fakeGuest('o1', 101, 'backend = "overlay"\ntemplate = "t1"\n');
    expect(await code(engine.templateDelete('t1'))).toBe('IN_USE');
    expect(existsSync(join(root, 'var/lib/vserver/templates/t1/rootfs'))).toBe(true);
    const list = await engine.templateList();
    expect(list.find((x) => x.name === 't1')).toMatchObject({ guests: ['o1'], context: 100 });
    // the overlay guest runs with the template's ids
    expect((await engine.status('o1')).idmap).toEqual({ base: 100 * 65536, size: 65536 });
    expect(await code(engine.setConfig('o1', 'context', 100))).toBe('ALREADY_EXISTS');
    await engine.delete('o1');
    await engine.templateDelete('t1');
    expect(readdirSync(join(root, 'var/lib/vserver/templates'))).toEqual([]);
  });
});

describe('lxcfs after the last guest', () => {
  it('is stopped when the last guest is deleted, and not before', async () => {
    const lx = new FakeLxcfs();
    engine = new Engine(root, { runtime: rt, cgroups: cg, hostFacts: fakeHostFacts, lxcfs: lx });
    fakeGuest('a', 100);
    fakeGuest('b', 101);
    await engine.delete('a');
    expect(lx.shutdowns).toBe(0);
    await engine.delete('b');
    expect(lx.shutdowns).toBe(1);
  });
});

describe('network without devices', () => {
  // host mode mounts a sysfs, so it is tested as a system test
  it('gives a guest without interfaces a namespace of its own with loopback only', async () => {
    fakeGuest('n1', 100);
    const info = await engine.start('n1');
    expect(rt.containers.get('n1')!.spec.linux.namespaces).toContainEqual({ type: 'network' });
    expect(info.interfaces).toEqual([]);
  });

  it("bind-mounts the host's hostname, hosts and resolv.conf read-only, from files outside the guest tree", async () => {
    fakeGuest('n1', 100, 'hostname = "n1.example.org"\nnameservers = ["192.0.2.53"]\n');
    await engine.start('n1');
    const mounts = rt.containers.get('n1')!.spec.mounts.filter((m) => m.destination.startsWith('/etc/'));
    expect(mounts.map((m) => m.destination)).toEqual(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);
    for (const m of mounts) {
      expect(m.options).toEqual(expect.arrayContaining(['bind', 'ro']));
      expect(m.source!.startsWith(join(root, 'run/vserver/bundles/n1/'))).toBe(true);
    }
    expect(readFileSync(mounts[0]!.source!, 'utf8')).toBe('n1.example.org\n');
    expect(readFileSync(mounts[2]!.source!, 'utf8')).toMatch(/^nameserver 192\.0\.2\.53$/m);
    // nothing was written into the guest's own tree
    expect(readdirSync(join(root, 'var/lib/vserver/guests/n1/rootfs'))).toEqual([]);
  });
});

describe('network config', () => {
  it('refuses an address, a forwarded port or a NIC that another guest has, and writes nothing', async () => {
    fakeGuest(
      'a',
      100,
      '[[interfaces]]\nmode = "bridge"\naddress = "10.47.0.9"\nports = ["8080:80"]\n[[interfaces]]\nmode = "phys"\nparent = "nic7"\n',
    );
    fakeGuest('b', 101);
    const before = readFileSync(join(root, 'etc/vserver/guests/b.toml'), 'utf8');
    await expect(engine.setConfig('b', 'interfaces', [{ mode: 'bridge', address: '10.47.0.9/16' }])).rejects.toThrow(
      /address 10\.47\.0\.9 is configured for guest 'a'/,
    );
    await expect(engine.setConfig('b', 'interfaces', [{ mode: 'bridge', ports: ['8080:81'] }])).rejects.toThrow(/host port 8080\/tcp/);
    expect(await code(engine.setConfig('b', 'interfaces', [{ mode: 'phys', parent: 'nic7' }]))).toBe('NIC_IN_USE');
    expect(await code(engine.setConfig('b', 'interfaces', [{ mode: 'bridge', address: '10.99.0.9' }]))).toBe('CONFIG_INVALID');
    expect(readFileSync(join(root, 'etc/vserver/guests/b.toml'), 'utf8')).toBe(before);
    await engine.setConfig('b', 'interfaces', [{ mode: 'bridge', address: '10.47.0.10' }]);
    expect((await engine.config('b')).interfaces).toEqual([{ mode: 'bridge', address: '10.47.0.10' }]);
  });

  it('shows configured interfaces of a stopped guest, with the host device it will get', async () => {
    fakeGuest(
      'a',
      100,
      '[[interfaces]]\nmode = "bridge"\nports = ["8080:80"]\n[[interfaces]]\nmode = "macvlan"\nparent = "lan0"\naddress = "192.168.5.9/24"\n',
    );
    const [g] = await engine.list();
    expect(g!.interfaces).toEqual([
      {
        name: 'eth0',
        mode: 'bridge',
        addresses: ['auto'],
        hostDevice: expect.stringMatching(/^v[0-9a-f]{6}-100-0$/),
        bridge: 'vsbr0',
        ports: ['8080:80/tcp'],
      },
      { name: 'eth1', mode: 'macvlan', addresses: ['192.168.5.9/24'], parent: 'lan0' },
    ]);
  });
});

describe('launching a guest whose network a hook wires up', () => {
  it('runs it, and tells a failure of the wiring as a network failure', async () => {
    mkdirSync(join(root, 'b'));
    writeFileSync(join(root, 'b/config.json'), '{}');
    const io = { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' } as const;
    await launch({ mounts: [], explain: () => undefined }, () => rt.run('g1', join(root, 'b'), io));
    expect(rt.calls).toEqual(['run g1']);
    rt.failRun = 'error running hook #0: exit status 1';
    const wiring = new VsError('NETWORK_FAILED', 'setting up the network failed: ...');
    await expect(launch({ mounts: [], explain: () => wiring }, () => rt.run('g2', join(root, 'b'), io))).rejects.toBe(wiring);
    await expect(launch({ mounts: [], explain: () => undefined }, () => rt.run('g3', join(root, 'b'), io))).rejects.toThrow(
      /error running hook/,
    );
  });
});
