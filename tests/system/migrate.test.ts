// vserver migrate between two hosts on one machine (two installations, each in its own network
// namespace, sshd on the target): a running guest moves with no write lost and its tree intact,
// an overlay guest takes its template along, and a cut link or a killed migrate leaves the source
// running (or startable) and the target without a guest.
import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync, lchownSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { which } from '../../src/util/which.js';
import { until } from '../helpers/guests.js';
import { IS_ROOT } from '../helpers/host.js';
import {
  checkCounter,
  children,
  COUNTER,
  expectFrozen,
  guests,
  info,
  lastCount,
  migrateUntil,
  sourceRunsOn,
  targetHoldsNothing,
} from '../helpers/migrate.js';
import { treeDigest } from '../helpers/trees.js';
import { TwoHosts } from '../helpers/two-hosts.js';

const TOOLS = ['rsync', 'sshd', 'ssh-keygen', 'setfacl', 'setcap', 'setfattr'].filter((t) => !which(t) && !which(`/usr/sbin/${t}`));
if (IS_ROOT && TOOLS.length > 0) console.warn(`migrate tests skipped: missing ${TOOLS.join(', ')} (bash scripts/install-deps.sh --test)`);

/** Files of every kind migrate must keep, made as the guest's own (owners in its range). */
function plantSpecialFiles(rootfs: string, base: number): void {
  const d = join(rootfs, 'data');
  mkdirSync(d);
  chownSync(d, base, base);
  writeFileSync(join(d, 'a'), 'content a\n');
  chownSync(join(d, 'a'), base + 1000, base + 1000);
  linkSync(join(d, 'a'), join(d, 'hard'));
  symlinkSync('a', join(d, 'sym'));
  lchownSync(join(d, 'sym'), base + 1000, base + 1000);
  writeFileSync(join(d, 'suid'), '#!/bin/sh\n', { mode: 0o4755 });
  chownSync(join(d, 'suid'), base, base);
  execFileSync('chmod', ['4755', join(d, 'suid')]);
  execFileSync('setfattr', ['-n', 'user.color', '-v', 'blue', join(d, 'a')]);
  execFileSync('setfacl', ['-m', `u:${base + 1000}:rw,g:${base + 50}:r`, join(d, 'a')]);
  writeFileSync(join(d, 'ping'), 'not really ping\n', { mode: 0o755 });
  chownSync(join(d, 'ping'), base, base);
  execFileSync('setcap', ['cap_net_raw+ep', join(d, 'ping')]);
  // 64 MiB with one block of data at the end
  execFileSync('truncate', ['-s', '64M', join(d, 'sparse')]);
  execFileSync('dd', ['if=/dev/urandom', `of=${join(d, 'sparse')}`, 'bs=4096', 'count=1', 'seek=16383', 'conv=notrunc'], {
    stdio: 'ignore',
  });
  chownSync(join(d, 'sparse'), base, base);
}

/** A tree's digest without the counter (it goes on there) and with ACLs apart: their entries name host ids, compared relative below. */
function comparable(m: Map<string, string>): Map<string, string> {
  const out = new Map([...m].map(([k, v]) => [k, v.replace(/system\.posix_acl_(access|default)=0x[0-9a-f]+,?/g, '')]));
  out.delete('counter');
  out.delete('');
  return out;
}

/** getfacl's entries with ids relative to the guest's base. */
function aclOf(file: string, base: number): string {
  return execFileSync('getfacl', ['-n', '-p', '-c', file])
    .toString()
    .replace(/^((?:default:)?(?:user|group):)(\d+):/gm, (_m, p: string, id: string) => `${p}${Number(id) - base}:`);
}

describe.skipIf(!IS_ROOT || TOOLS.length > 0)('vserver migrate', { timeout: 600_000 }, () => {
  const h = new TwoHosts('mig');
  const { source, target } = h;

  beforeAll(async () => {
    await h.setup();
    await source.ok(['build', 'web', '--init', 'cmd', '--', '/bin/sh', '-c', COUNTER]);
    const base = (await info(source, 'web')).idmap!.base;
    plantSpecialFiles(source.paths.rootfs('web'), base);
    await source.ok(['start', 'web']);
    // the target already uses web's context: the guest gets another one there, and its owners move
    await target.ok(['build', 'occupant', '--context', String((await info(source, 'web')).context)]);
  }, 180_000);

  // a test that failed half way must not leave a stopped migrate holding the guest's lock
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  afterAll(() => h.cleanup(), 120_000);

  it('a link cut during the pre-copy: the guest runs on here, the target keeps nothing', async () => {
    const m = migrateUntil(h, 'web', 'migrate:precopy', 'SIGSTOP');
    await m.stopped();
    await h.linkDown();
    try {
      process.kill(m.pid, 'SIGCONT');
      const end = await m.exited;
      expect(end.code, m.stderr()).not.toBe(0);
      expect(m.stderr()).toMatch(/migrating guest 'web' to ssh:\/\/root@10\.251\.7\.2:2222 failed/);
      expect(m.stderr()).toMatch(/the guest runs here again/);
    } finally {
      await h.linkUp();
    }
    await sourceRunsOn(h);
    await targetHoldsNothing(h);
  });

  it('a link cut during the final copy: the frozen guest is thawed here, the target keeps nothing', async () => {
    const m = migrateUntil(h, 'web', 'migrate:frozen', 'SIGSTOP');
    await m.stopped();
    await expectFrozen(h);
    await h.linkDown();
    try {
      process.kill(m.pid, 'SIGCONT');
      const end = await m.exited;
      expect(end.code, m.stderr()).not.toBe(0);
      expect(m.stderr()).toMatch(/the guest runs here again \(thawed\)/);
    } finally {
      await h.linkUp();
    }
    await sourceRunsOn(h);
    await targetHoldsNothing(h);
  });

  it('a migrate killed during the pre-copy leaves the guest running; killed while it is frozen, gc thaws it', async () => {
    const pre = migrateUntil(h, 'web', 'migrate:precopy', 'SIGKILL');
    expect((await pre.exited).signal).toBe('SIGKILL');
    await sourceRunsOn(h);
    await targetHoldsNothing(h);

    const frozen = migrateUntil(h, 'web', 'migrate:frozen', 'SIGKILL');
    expect((await frozen.exited).signal).toBe('SIGKILL');
    await expectFrozen(h);
    const gc = await source.ok(['gc']);
    expect(gc).toMatch(/web: removed the freeze of an interrupted migration/);
    await sourceRunsOn(h);
    await targetHoldsNothing(h);
  });

  it('a start the target refuses: the target takes the guest back, the guest runs on here', async () => {
    // the target's guests cannot pass through its root prefix: its start refuses, after the copy
    chmodSync(target.root, 0o700);
    try {
      const r = await source.cli(h.migrateArgs('web'));
      expect(r.code, r.stderr + r.stdout).toBe(25);
      expect(r.stderr).toMatch(/on the target: guest 'web' cannot reach its tree/);
      expect(r.stderr).toMatch(/the guest runs here again \(thawed\)/);
    } finally {
      chmodSync(target.root, 0o755);
    }
    await sourceRunsOn(h);
    await targetHoldsNothing(h);
  });

  it('moves a running dir guest: every counter value arrives, and the tree keeps owners, modes, links, xattrs, ACLs and capabilities', async () => {
    const before = await lastCount(source, 'web');
    expect(before).toBeGreaterThan(0);
    const srcBase = (await info(source, 'web')).idmap!.base;
    const r = await source.cli(h.migrateArgs('web', '--keep'));
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/migrated guest web to ssh:\/\/root@10\.251\.7\.2:2222 \(context \d+ there\)/);
    expect(r.stdout).toMatch(/downtime +\d+(\.\d+)? s/);
    expect(r.stdout).toMatch(/context \d+ is taken on the target/);
    const moved = await info(target, 'web');
    expect(moved.state).toBe('running');
    expect(moved.context).not.toBe((await info(source, 'web')).context);
    // the source is kept, stopped: its counter file is what the guest wrote up to the freeze
    expect((await info(source, 'web')).state).toBe('stopped');
    const atFreeze = checkCounter(readFileSync(join(source.paths.rootfs('web'), 'counter'), 'utf8'));
    expect(atFreeze).toBeGreaterThanOrEqual(before);
    // on the target it goes on from there: every value up to the freeze, then the new ones, none lost
    await until(async () => (await lastCount(target, 'web')) > atFreeze + 5, 'the counter to go on on the target');
    const there = checkCounter(readFileSync(join(target.paths.rootfs('web'), 'counter'), 'utf8'));
    expect(there).toBeGreaterThan(atFreeze);
    const a = comparable(treeDigest(source.paths.rootfs('web'), srcBase));
    const b = comparable(treeDigest(target.paths.rootfs('web'), moved.idmap!.base));
    expect(b).toEqual(a);
    expect(aclOf(join(target.paths.rootfs('web'), 'data/a'), moved.idmap!.base)).toBe(
      aclOf(join(source.paths.rootfs('web'), 'data/a'), srcBase),
    );
    // sparse on the target too: a few blocks, not 64 MiB
    expect(statSync(join(target.paths.rootfs('web'), 'data/sparse')).blocks * 512).toBeLessThan(1 << 20);
    expect(execFileSync('getcap', [join(target.paths.rootfs('web'), 'data/ping')]).toString()).toMatch(/cap_net_raw[=+]ep/);
    expect(aclOf(join(target.paths.rootfs('web'), 'data/a'), moved.idmap!.base)).toContain('user:1000:rw-');
  });

  it('moves a running overlay guest and copies its template, which the target lacked; the source goes', async () => {
    await source.ok(['build', 'tbase']);
    const tbase = (await info(source, 'tbase')).idmap!.base;
    writeFileSync(join(source.paths.rootfs('tbase'), 'from-template'), 'shared\n');
    chownSync(join(source.paths.rootfs('tbase'), 'from-template'), tbase, tbase);
    await source.ok(['template', 'create', 'tpl', '--from-guest', 'tbase']);
    await source.ok(['delete', 'tbase']);
    await source.ok(['build', 'ov', '--template', 'tpl']);
    expect((await info(source, 'ov')).state).toBe('stopped');
    await source.ok(['start', 'ov']);
    // a file of its own and a template file it deleted (a whiteout in its upper layer)
    await source.ok(['exec', 'ov', '--', '/bin/sh', '-c', 'echo mine > /fresh && rm /from-template']);

    const r = await source.cli(h.migrateArgs('ov'));
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/template 'tpl' was missing on the target: it is copied there/);
    expect(r.stdout).toMatch(/source +removed/);
    expect(await guests(source)).not.toContain('ov');
    expect((JSON.parse(await target.ok(['template', 'list', '--json'])) as { name: string }[]).map((t) => t.name)).toContain('tpl');
    const moved = await info(target, 'ov');
    expect(moved.state).toBe('running');
    expect((await target.ok(['exec', 'ov', '--', 'cat', '/fresh'])).trim()).toBe('mine');
    expect((await target.cli(['exec', 'ov', '--', 'test', '-e', '/from-template'])).code).toBe(1);
    // the template itself still has the file, owned by its range on the target
    const tpl = (JSON.parse(await target.ok(['template', 'list', '--json'])) as { name: string; idmap?: { base: number } }[]).find(
      (t) => t.name === 'tpl',
    )!;
    const st = statSync(join(target.paths.templateRootfs('tpl'), 'from-template'));
    expect(st.uid).toBe(tpl.idmap!.base);
  });

  it('moves a stopped guest: copied once, placed stopped there, no downtime', async () => {
    await source.ok(['build', 'cold']);
    writeFileSync(join(source.paths.rootfs('cold'), 'note'), 'kept\n');
    // snapshots are not carried: without --keep the source, snapshots and all, is not given up
    await source.ok(['snapshot', 'cold', 's1']);
    const refused = await source.cli(h.migrateArgs('cold'));
    expect(refused.code, refused.stderr).toBe(18);
    expect(refused.stderr).toMatch(/guest 'cold' has 1 snapshot, which migrate does not carry/);
    expect(await guests(target)).not.toContain('cold');
    await source.ok(['snapshot', 'delete', 'cold', 's1']);
    const r = await source.cli(h.migrateArgs('cold'));
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/pre-copy +1 round/);
    expect(r.stdout).toMatch(/downtime +none: the guest was stopped, and stays stopped there/);
    expect((await info(target, 'cold')).state).toBe('stopped');
    expect(readFileSync(join(target.paths.rootfs('cold'), 'note'), 'utf8')).toBe('kept\n');
    expect(await guests(source)).not.toContain('cold');
    await target.ok(['start', 'cold']);
    expect((await info(target, 'cold')).state).toBe('running');
  });
});

describe.skipIf(!IS_ROOT || TOOLS.length > 0)('vserver migrate to a target whose disk fills up', { timeout: 600_000 }, () => {
  const h = new TwoHosts('migfull');
  const { source, target } = h;

  beforeAll(async () => {
    await h.setup();
    // the target's guests live on a 24 MiB filesystem: a guest carrying 48 MiB cannot fit
    mkdirSync(target.paths.guestsDir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=755', 'vst-migfull', target.paths.guestsDir]);
    await source.ok(['build', 'fat', '--init', 'cmd', '--', '/bin/sh', '-c', COUNTER]);
    const base = (await info(source, 'fat')).idmap!.base;
    const blob = join(source.paths.rootfs('fat'), 'blob');
    execFileSync('dd', ['if=/dev/urandom', `of=${blob}`, 'bs=1M', 'count=48'], { stdio: 'ignore' });
    chownSync(blob, base, base);
    await source.ok(['start', 'fat']);
  }, 180_000);

  // the tmpfs is under the target's root: its cleanup unmounts it
  afterAll(() => h.cleanup(), 120_000);

  it('fails saying the target disk is full; the guest runs on here, the target keeps nothing and has its space back', async () => {
    const r = await source.cli(h.migrateArgs('fat'));
    expect(r.code, r.stderr + r.stdout).toBe(26);
    expect(r.stderr).toMatch(/migrating guest 'fat' to ssh:\/\/root@10\.251\.7\.2:2222 failed: the target's disk is full/);
    expect(r.stderr).toMatch(/free space on the target/);
    expect(r.stderr).toMatch(/the guest runs here again/);
    await sourceRunsOn(h, 'fat');
    await targetHoldsNothing(h, []);
    // what the copy had written there is gone, not only out of sight
    const used = Number(execFileSync('df', ['--output=used', '-B1', target.paths.guestsDir]).toString().split('\n')[1]);
    expect(used).toBeLessThan(1 << 20);
  });
});
