// import-legacy through the real CLI: util-vserver configuration directories (tests/fixtures/legacy)
// with a tree owned by the host's own ids, as util-vserver left them; the guest starts with its host
// name, addresses (on a NIC of the test's own network namespace), limits and capabilities.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shiftOwnership } from '../../src/storage/shift.js';
import { IS_ROOT, TestRoot } from '../helpers/host.js';
import { cleanUpNetworkTest, TestNetns } from '../helpers/netns.js';
import { treeDigest } from '../helpers/trees.js';

const FIXTURES = join(__dirname, '../fixtures/legacy');
const RANGE = 65536;
const KILLED = 137;
const M = 2 ** 20;

/** The capability bits of a CapBnd line from /proc/PID/status. */
function capBits(status: string): bigint {
  return BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(status)![1]}`);
}
const CAP_NET_RAW = 13n;
const CAP_SYS_TIME = 25n;
const CAP_MKNOD = 27n;

describe.skipIf(!IS_ROOT)('import-legacy', () => {
  const host = new TestNetns('lg');
  const lan = new TestNetns('lglan');
  const t = new TestRoot('legacy', { netns: host.name });
  const legacy = () => join(t.root, 'legacy');
  let seedBase = 0;

  /** A util-vserver guest: the fixture's configuration with a vdir link, and a busybox tree owned by ids 0.. */
  function legacyGuest(fixture: string, as: string): { conf: string; tree: string } {
    const conf = join(legacy(), 'etc/vservers', as);
    const tree = join(legacy(), 'vservers', as);
    mkdirSync(join(legacy(), 'vservers'), { recursive: true });
    cpSync(join(FIXTURES, fixture), conf, { recursive: true });
    execFileSync('cp', ['-a', t.paths.rootfs('seed'), tree]);
    shiftOwnership(tree, { base: seedBase, size: RANGE }, { base: 0, size: RANGE });
    symlinkSync(tree, join(conf, 'vdir'));
    return { conf, tree };
  }

  beforeAll(async () => {
    await host.create();
    await lan.create();
    await host.vethTo(lan, 'lan0', 'lan0p', undefined, '192.168.77.1/24');
    await t.ok(['build', 'seed']);
    seedBase = (JSON.parse((await t.cli(['status', 'seed', '--json'])).stdout) as { idmap: { base: number } }).idmap.base;
  });
  afterAll(() => cleanUpNetworkTest(t, [host, lan]));

  it('makes a guest that starts with the host name, addresses, limits and capabilities it had', async () => {
    const { conf, tree } = legacyGuest('web1', 'web1');
    const before = treeDigest(tree, 0);
    const out = await t.ok(['import-legacy', conf]);
    expect(out).toMatch(/imported util-vserver guest web1 \(context 4242\)/);
    expect(out).toMatch(/tree {7}copied from .*\/vservers\/web1 \(left as it was\)/);
    // what has no counterpart is listed file by file, with what to do instead
    const not = out.slice(out.indexOf('not translated'));
    expect(not).toMatch(/ {2}flags: sched_hard: a hard CPU limit is limits\.cpu\.max/);
    expect(not).toMatch(/ {2}fstab: 'none\t\/tmp\t\ttmpfs\tsize=16m,mode=1777\t0 0': vserver makes no extra mounts/);
    expect(not).toMatch(/ {2}rlimits\/as: /);
    expect(not).toMatch(/ {2}ccapabilities: BINARY_MOUNT: /);
    // the legacy tree is as it was, owners and all
    expect(treeDigest(tree, 0)).toEqual(before);
    expect(lstatSync(join(t.paths.rootfs('web1'), 'etc/passwd')).uid).toBe(4242 * RANGE);

    const info = JSON.parse(await t.ok(['start', 'web1', '--json'])) as {
      context: number;
      hostname: string;
      interfaces: { addresses: string[]; mode: string; parent: string }[];
    };
    expect(info.context).toBe(4242);
    expect(info.interfaces.map((i) => [i.mode, i.parent, i.addresses])).toEqual([
      ['macvlan', 'lan0', ['192.168.77.21/24']],
      ['macvlan', 'lan0', ['192.168.77.22/24']],
    ]);
    expect((await t.ok(['exec', 'web1', '--', 'hostname'])).trim()).toBe('web1.example.org');
    const addrs = await t.ok(['exec', 'web1', '--', 'ip', '-o', '-4', 'addr']);
    expect(addrs).toMatch(/inet 192\.168\.77\.21\/24/);
    expect(addrs).toMatch(/inet 192\.168\.77\.22\/24/);
    expect(addrs).not.toMatch(/10\.9\.9\.9/);
    // the LAN answers at its address: raw ICMP works with the NET_RAW it was given
    expect((await t.cli(['exec', 'web1', '--', 'timeout', '5', 'ping', '-c', '1', '-W', '2', '192.168.77.1'])).code).toBe(0);
    expect((await t.ok(['exec', 'web1', '--', 'sh', '-c', 'ulimit -n; ulimit -Hn'])).split('\n').slice(0, 2)).toEqual(['1024', '4096']);
    const st = JSON.parse(await t.ok(['status', 'web1', '--json'])) as { resources: { limits: { memoryMax: number; pidsMax: number } } };
    expect(st.resources.limits.memoryMax).toBe(256 * M);
    expect(st.resources.limits.pidsMax).toBe(200);
    const caps = capBits(await t.ok(['exec', 'web1', '--', 'cat', '/proc/1/status']));
    expect((caps >> CAP_NET_RAW) & 1n).toBe(1n);
    expect((caps >> CAP_SYS_TIME) & 1n).toBe(1n);
    expect((caps >> CAP_MKNOD) & 1n).toBe(0n);
    await t.ok(['stop', 'web1', '--timeout', '0']);
  });

  it('refuses a name that exists and a missing tree, leaving no half guest and the legacy tree untouched', async () => {
    const { conf, tree } = legacyGuest('web1', 'web1b');
    const before = treeDigest(tree, 0);
    const dup = await t.cli(['import-legacy', conf, '--name', 'web1']);
    expect(dup.code).toBe(12);
    expect(dup.stderr).toMatch(/guest 'web1' already exists/);
    execFileSync('rm', [join(conf, 'vdir')]);
    symlinkSync(join(legacy(), 'vservers/none'), join(conf, 'vdir'));
    const missing = await t.cli(['import-legacy', conf, '--name', 'web1b', '--in-place']);
    expect(missing.code).toBe(9);
    expect(missing.stderr).toMatch(/the guest's tree .*\/vservers\/none \(named by the vdir link\) does not exist/);
    expect(readdirSync(t.paths.guestsDir).sort()).toEqual(['seed', 'web1']);
    expect(treeDigest(tree, 0)).toEqual(before);
    const bad = await t.cli(['import-legacy', conf, '--name', 'Web_1']);
    expect(bad.code).toBe(5);
  });

  it('moves the tree in place; a crash during the shift is finished by gc', async () => {
    const { conf, tree } = legacyGuest('web1', 'web2');
    // web1 holds the fixture's addresses
    execFileSync('sh', [
      '-c',
      `echo 192.168.77.31 > ${join(conf, 'interfaces/00/ip')}; echo 192.168.77.32 > ${join(conf, 'interfaces/01/ip')}`,
    ]);
    const r = await t.cli(['import-legacy', conf, '--name', 'web2', '--in-place'], { env: { VSERVER_CRASH_AT: 'import-legacy:moved' } });
    expect(r.code).toBe(KILLED);
    expect(existsSync(tree)).toBe(false);
    const start = await t.cli(['start', 'web2']);
    expect(start.code).toBe(27);
    expect(start.stderr).toMatch(/half re-owned/);
    expect(await t.ok(['gc'])).toMatch(/a half-done re-own/);
    const info = JSON.parse(await t.ok(['start', 'web2', '--json'])) as { context: number };
    // 4242 belongs to web1 now: web2 got another
    expect(info.context).not.toBe(4242);
    expect(lstatSync(join(t.paths.rootfs('web2'), 'etc/passwd')).uid).toBe(info.context * RANGE);
    expect((await t.ok(['exec', 'web2', '--', 'hostname'])).trim()).toBe('web1.example.org');
    await t.ok(['stop', 'web2', '--timeout', '0']);
  });

  it('keeps the owners with --privileged', async () => {
    const { conf, tree } = legacyGuest('job1', 'priv1');
    const out = JSON.parse(await t.ok(['import-legacy', conf, '--privileged', '--name', 'priv1', '--json'])) as {
      privileged: boolean;
      shifted: number;
    };
    expect(out).toMatchObject({ privileged: true, shifted: 0 });
    expect(lstatSync(join(t.paths.rootfs('priv1'), 'etc/passwd')).uid).toBe(0);
    expect(lstatSync(join(tree, 'etc/passwd')).uid).toBe(0);
    await t.ok(['delete', 'priv1']);
  });

  it('says which context it took when the old one is taken, and runs a command guest', async () => {
    const { conf } = legacyGuest('job1', 'job1');
    const out = await t.ok(['import-legacy', conf, '--in-place']);
    expect(out).toMatch(/tree {7}moved from/);
    expect(out).toMatch(/still names the old place of the tree/);
    expect(out).toMatch(/ {2}apps\/init\/depends: depends on db1/);
    await t.ok(['start', 'job1']);
    expect(await t.ok(['exec', 'job1', '--', 'cat', '/tmp/started'])).toBe('started\n');
    expect(await t.ok(['exec', 'job1', '--', 'cat', '/proc/1/environ'])).toContain('GREETING=hello');
    await t.ok(['stop', 'job1', '--timeout', '0']);
    for (const g of ['job1', 'web2', 'web1', 'seed']) await t.ok(['delete', g]);
    expect(await t.leaks()).toEqual([]);
  });
});
