// Snapshots through the real CLI: a running guest frozen while copied, restore and compare, reflinks
// on a loop-mounted XFS, overlay guests, delete and du, and what gc cleans after a killed snapshot.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';
import { treeDigest } from '../helpers/trees.js';

const KILLED = 137;
const M = 2 ** 20;

interface Snap {
  name: string;
  method: string;
  frozen: boolean;
  frozenMs?: number;
  backend: string;
}

/** Files a restore must bring back exactly: owners, modes, hard links, xattrs, ACLs, a file capability, a sparse file. */
const SETUP = [
  'mkdir -p /srv/d && echo one > /srv/d/a && ln /srv/d/a /srv/d/hard && chown 1000:1001 /srv/d/a && chmod 0640 /srv/d/a',
  'echo secret > /srv/mode && chmod 4750 /srv/mode && ln -s d/a /srv/link && mkfifo /srv/fifo',
  'dd if=/dev/zero of=/srv/sparse bs=1 count=1 seek=50000000 2>/dev/null',
].join(' && ');

describe.skipIf(!IS_ROOT)('snapshots of a dir guest', () => {
  const t = new TestRoot('snap');
  afterAll(() => t.cleanup());
  const rootfs = () => t.paths.rootfs('s1');
  const base = async () => (JSON.parse((await t.cli(['status', 's1', '--json'])).stdout) as { idmap: { base: number } }).idmap.base;
  /** The runtime's own word: the state file of a frozen container reads as running. */
  const runtimeStatus = (name: string) => {
    const rt = t.runtimePath();
    const state = t.paths.runtimeRoot(rt.endsWith('crun') ? 'crun' : 'runc');
    return (JSON.parse(execFileSync(rt, ['--root', state, 'state', name]).toString()) as { status: string }).status;
  };

  it('snapshots a running guest frozen, and a restore brings back owners, modes, links, xattrs and content', async () => {
    await t.ok(['build', 's1']);
    await t.ok(['start', 's1']);
    await t.ok(['exec', 's1', '--', 'sh', '-c', SETUP]);
    const b = await base();
    // xattrs, an ACL and a file capability are set from the host: busybox has no setfattr
    execFileSync('setfattr', ['-n', 'user.color', '-v', 'blue', join(rootfs(), 'srv/d/a')]);
    execFileSync('setfacl', ['-m', `u:${b + 33}:r`, join(rootfs(), 'srv/mode')]);
    execFileSync('setcap', ['cap_net_raw+ep', join(rootfs(), 'srv/d/hard')]);
    const before = treeDigest(join(rootfs(), 'srv'), b);

    const out = await t.ok(['snapshot', 's1', 'one']);
    expect(out).toMatch(/made snapshot one of guest s1\n {2}method {2}full copy/);
    expect(out).toMatch(/frozen {2}\d+ ms while its tree was copied/);
    // the guest runs on, not frozen
    expect(runtimeStatus('s1')).toBe('running');
    expect(await t.ok(['exec', 's1', '--', 'cat', '/srv/d/a'])).toBe('one\n');

    await t.ok([
      'exec',
      's1',
      '--',
      'sh',
      '-c',
      'echo two > /srv/d/a; rm /srv/d/hard /srv/link; chmod 0600 /srv/mode; echo new > /srv/new',
    ]);
    const r = await t.cli(['snapshot', 'restore', 's1', 'one']);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/guest 's1' is running; a restore replaces its tree and needs it stopped/);

    await t.ok(['stop', 's1', '--timeout', '0']);
    const changed = treeDigest(join(rootfs(), 'srv'), b);
    const restored = await t.ok(['snapshot', 'restore', 's1', 'one']);
    expect(restored).toMatch(/restored guest s1 to snapshot one/);
    const kept = /kept as snapshot (before-restore-\S+)/.exec(restored)![1]!;
    expect(treeDigest(join(rootfs(), 'srv'), b)).toEqual(before);
    expect(treeDigest(join(t.paths.snapshot('s1', kept), 'tree/srv'), b)).toEqual(changed);
    // a sparse file stays sparse
    expect(
      Number(
        execFileSync('du', ['-k', join(rootfs(), 'srv/sparse')])
          .toString()
          .split('\t')[0],
      ),
    ).toBeLessThan(1024);

    const list = JSON.parse(await t.ok(['snapshot', 'list', 's1', '--json'])) as Snap[];
    expect(list.map((s) => s.name)).toEqual(['one', kept]);
    expect(list[0]).toMatchObject({ method: 'copy', frozen: true, backend: 'dir' });
    expect(list[1]).toMatchObject({ method: 'moved', frozen: false });

    await t.ok(['start', 's1']);
    expect(await t.ok(['exec', 's1', '--', 'cat', '/srv/d/a'])).toBe('one\n');
    await t.ok(['stop', 's1', '--timeout', '0']);
  }, 300_000);

  it('restores with --discard and keeps nothing of the current tree', async () => {
    const b = await base();
    await t.ok(['snapshot', 's1', 'two']);
    execFileSync('sh', ['-c', `echo three > ${join(rootfs(), 'srv/d/a')}`]);
    const out = await t.ok(['snapshot', 'restore', 's1', 'two', '--discard']);
    expect(out).toMatch(/the tree it had is discarded/);
    expect(execFileSync('cat', [join(rootfs(), 'srv/d/a')]).toString()).toBe('one\n');
    expect(readdirSync(t.paths.guestDir('s1')).filter((e) => e.startsWith('.restore'))).toEqual([]);
    expect((JSON.parse(await t.ok(['snapshot', 'list', 's1', '--json'])) as Snap[]).length).toBe(3);
    expect(b).toBe(await base());
  });

  it('refuses bad names and unknown snapshots with a clear message', async () => {
    const bad = await t.cli(['snapshot', 's1', '../x']);
    expect(bad.code).toBe(5);
    expect(bad.stderr).toMatch(/invalid snapshot name/);
    const dup = await t.cli(['snapshot', 's1', 'two']);
    expect(dup.code).toBe(12);
    const none = await t.cli(['snapshot', 'restore', 's1', 'nope']);
    expect(none.code).toBe(4);
    expect(none.stderr).toMatch(/guest 's1' has no snapshot 'nope'/);
    expect((await t.cli(['snapshot', 'list'])).stderr).toMatch(/'snapshot list' needs NAME/);
  });

  it('du counts snapshots apart; snapshot delete and delete remove them', async () => {
    const du = JSON.parse(await t.ok(['du', 's1', '--json']))[0] as { bytes: number; snapshots: number; snapshotBytes: number };
    expect(du.snapshots).toBe(3);
    expect(du.snapshotBytes).toBeGreaterThan(du.bytes);
    await t.ok(['snapshot', 'delete', 's1', 'two']);
    expect(existsSync(t.paths.snapshot('s1', 'two'))).toBe(false);
    // private to host root: a snapshot keeps the guest's set-id programs and device nodes
    expect(statSync(t.paths.snapshotsDir).mode & 0o777).toBe(0o700);
    expect(await t.ok(['delete', 's1'])).toBe('deleted guest s1 and its 2 snapshots\n');
    expect(readdirSync(t.paths.snapshotsDir)).toEqual([]);
  });

  it('gc thaws a guest whose snapshot was killed while it was frozen, and removes the half snapshot', async () => {
    await t.ok(['build', 'k1']);
    await t.ok(['start', 'k1']);
    const r = await t.cli(['snapshot', 'k1', 'half'], { env: { VSERVER_CRASH_AT: 'snapshot:copied' } });
    expect(r.code).toBe(KILLED);
    expect(runtimeStatus('k1')).toBe('paused');
    expect(readdirSync(t.paths.snapshots('k1')).some((e) => e.startsWith('.new-half-'))).toBe(true);
    expect(JSON.parse(await t.ok(['snapshot', 'list', 'k1', '--json'])) as Snap[]).toEqual([]);
    const gc = await t.ok(['gc']);
    expect(gc).toMatch(/the freeze of a snapshot that died/);
    expect(gc).toMatch(/half-made snapshot half/);
    expect(runtimeStatus('k1')).toBe('running');
    expect(readdirSync(t.paths.snapshots('k1'))).toEqual([]);
    // and the name is free again
    await t.ok(['snapshot', 'k1', 'half']);
    await t.ok(['stop', 'k1', '--timeout', '0']);
  });

  it('moves restored files to the id range the guest has now', async () => {
    await t.ok(['build', 'c1', '--context', '3001']);
    await t.ok(['snapshot', 'c1', 'at3001']);
    await t.ok(['config', 'c1', 'context', '3002']);
    const out = await t.ok(['snapshot', 'restore', 'c1', 'at3001', '--discard']);
    expect(out).toMatch(/\d+ files moved to the guest's current id range/);
    expect(lstatSync(join(t.paths.rootfs('c1'), 'etc/passwd')).uid).toBe(3002 * 65536);
    await t.ok(['start', 'c1']);
    await t.ok(['stop', 'c1', '--timeout', '0']);
    await t.ok(['delete', 'c1']);
  });

  it('gc finishes a restore killed between moving the old tree out and the restored one in', async () => {
    execFileSync('sh', ['-c', `echo later > ${join(t.paths.rootfs('k1'), 'etc/motd')}`]);
    const r = await t.cli(['snapshot', 'restore', 'k1', 'half'], { env: { VSERVER_CRASH_AT: 'restore:moved' } });
    expect(r.code).toBe(KILLED);
    expect(existsSync(t.paths.rootfs('k1'))).toBe(false);
    expect(await t.ok(['gc'])).toMatch(/finished it, the guest has the snapshot's tree/);
    expect(existsSync(join(t.paths.rootfs('k1'), 'etc/motd'))).toBe(false);
    await t.ok(['start', 'k1']);
    await t.ok(['stop', 'k1', '--timeout', '0']);
    await t.ok(['delete', 'k1']);
    expect(await t.leaks()).toEqual([]);
  });
});

describe.skipIf(!IS_ROOT)('snapshots of an overlay guest', () => {
  const t = new TestRoot('snapovl');
  afterAll(() => t.cleanup());

  it('copies the upper layer only, and a restore puts it back under the mounted tree', async () => {
    await t.ok(['build', 'seed']);
    await t.ok(['template', 'create', 'bb', '--from-guest', 'seed']);
    await t.ok(['build', 'o1', '--template', 'bb']);
    await t.ok(['start', 'o1']);
    await t.ok(['exec', 'o1', '--', 'sh', '-c', 'echo mine > /root/f; rm /etc/shells']);
    const snap = JSON.parse(await t.ok(['snapshot', 'o1', 'up', '--json'])) as Snap;
    expect(snap).toMatchObject({ backend: 'overlay', frozen: true });
    // the template's files are not in the snapshot, the guest's own change and deletion are
    const tree = join(t.paths.snapshot('o1', 'up'), 'tree');
    expect(existsSync(join(tree, 'root/f'))).toBe(true);
    expect(existsSync(join(tree, 'bin/busybox'))).toBe(false);
    await t.ok(['exec', 'o1', '--', 'sh', '-c', 'echo changed > /root/f; echo x > /etc/shells']);
    await t.ok(['stop', 'o1', '--timeout', '0']);
    await t.ok(['snapshot', 'restore', 'o1', 'up', '--discard']);
    await t.ok(['start', 'o1']);
    expect(await t.ok(['exec', 'o1', '--', 'cat', '/root/f'])).toBe('mine\n');
    expect((await t.cli(['exec', 'o1', '--', 'ls', '/etc/shells'])).code).not.toBe(0);
    await t.ok(['stop', 'o1', '--timeout', '0']);
    await t.ok(['delete', 'o1']);
    await t.ok(['delete', 'seed']);
    expect(await t.leaks()).toEqual([]);
  });
});

describe.skipIf(!IS_ROOT)('reflink snapshots on XFS', () => {
  const t = new TestRoot('snapxfs');
  let mounted = false;
  afterAll(async () => {
    // the loop mount goes first, even when the test failed; cleanup then detaches the loop device
    if (mounted) execFileSync('umount', ['-l', t.paths.lib]);
    await t.cleanup();
  });

  it('shares the blocks of a 64 MiB file: the snapshot and its restore take almost no space', async () => {
    const img = join(t.root, 'xfs.img');
    execFileSync('truncate', ['-s', '400M', img]);
    execFileSync('mkfs.xfs', ['-q', '-m', 'reflink=1', img]);
    mkdirSync(t.paths.lib, { recursive: true });
    execFileSync('mount', ['-o', 'loop', img, t.paths.lib]);
    mounted = true;
    await t.ok(['build', 'x1']);
    await t.ok(['start', 'x1']);
    await t.ok(['exec', 'x1', '--', 'sh', '-c', 'dd if=/dev/urandom of=/blob bs=1M count=64 2>/dev/null; sync']);
    const free = () => Number(statfsSync(t.paths.lib).bfree) * Number(statfsSync(t.paths.lib).bsize);
    const before = free();
    const out = await t.ok(['snapshot', 'x1', 'r1']);
    expect(out).toMatch(/method {2}reflink/);
    expect(before - free()).toBeLessThan(8 * M);
    await t.ok(['stop', 'x1', '--timeout', '0']);
    const mid = free();
    await t.ok(['snapshot', 'restore', 'x1', 'r1']);
    expect(mid - free()).toBeLessThan(8 * M);
    const sum = (p: string) => execFileSync('sha256sum', [p]).toString().split(' ')[0];
    expect(sum(join(t.paths.rootfs('x1'), 'blob'))).toBe(sum(join(t.paths.snapshot('x1', 'r1'), 'tree/blob')));
    await t.ok(['delete', 'x1']);
    execFileSync('umount', [t.paths.lib]);
    mounted = false;
  });
});
