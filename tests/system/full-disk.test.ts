// A full disk under the root prefix: the administrator can still see, stop and delete guests and
// run gc; every other command says that the disk is full, which one, and leaves nothing behind.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

const FULL = 26;

/** Fills the filesystem at dir to the last block, as root (who may use the reserved blocks too). */
function fill(dir: string): void {
  spawnSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=1M', 'status=none']);
  spawnSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler-tail')}`, 'bs=4k', 'status=none']);
  const avail = execFileSync('df', ['--output=avail', '-B1', dir], { encoding: 'utf8' }).split('\n')[1]!.trim();
  expect(avail).toBe('0');
}

describe.skipIf(!IS_ROOT)('a full disk', () => {
  let outer: TestRoot;
  let t: TestRoot;
  afterEach(async () => {
    await t?.cleanup();
    await outer.cleanup();
  });

  it('leaves status, list, stop, delete and gc working, and gives every other command the full-disk error', async () => {
    outer = new TestRoot('full');
    const img = join(outer.root, 'disk.img');
    execFileSync('truncate', ['-s', '96M', img]);
    execFileSync('mkfs.ext4', ['-q', '-F', '-b', '4096', img]);
    const fs = join(outer.root, 'fs');
    mkdirSync(fs);
    execFileSync('mount', ['-o', 'loop', img, fs]);
    t = new TestRoot('full', { root: fs });

    await t.ok(['build', 'run1', '--init', 'cmd', '--', '/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done']);
    await t.ok(['build', 'idle']);
    writeFileSync(join(t.paths.rootfs('idle'), 'root/data'), 'kept\n');
    await t.ok(['start', 'run1']);
    const exported = join(outer.root, 'idle.vse');
    await t.ok(['export', 'idle', exported]);
    rmSync(t.paths.runtimeCache); // as after a reboot: the runtime is chosen afresh
    fill(fs);
    const filesystem = `no space left on ${fs} (ext4 on /dev/loop`;

    // seeing
    expect(JSON.parse(await t.ok(['list', '--json'])).map((g: { state: string }) => g.state)).toEqual(['stopped', 'running']);
    expect((await t.cli(['status', 'run1'])).code).toBe(0);
    expect((await t.cli(['status', 'idle'])).code).toBe(3);

    // changing: each says the disk is full and which, and keeps nothing
    const refused: string[][] = [
      ['start', 'idle'],
      ['config', 'idle', 'hostname', 'other'],
      ['limit', 'idle', 'pids.max', '50'],
      ['build', 'new1'],
      ['build', 'copy', '--clone', 'idle'],
      ['export', 'idle', join(fs, 'idle.vse')],
      ['import', exported, '--name', 'back'],
    ];
    for (const args of refused) {
      const r = await t.cli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(FULL);
      expect(r.stderr, args.join(' ')).toContain(filesystem);
      expect(r.stderr).not.toMatch(/this is a bug|INTERNAL/);
    }
    expect(readdirSync(t.paths.guestsDir).sort()).toEqual(['idle', 'run1']);
    expect(readFileSync(t.paths.guestConfig('idle'), 'utf8')).not.toMatch(/other|pids/);
    expect(readdirSync(t.paths.locks)).toEqual([]);
    expect(readdirSync(fs).filter((f) => f.endsWith('.vse') || f.startsWith('.idle'))).toEqual([]);

    // getting out: stop, gc and delete need no free block
    await t.ok(['stop', 'run1', '--timeout', '5']);

    // half a megabyte free: an import fills it while extracting, and says so about its own tree
    execFileSync('truncate', ['-s', '-512K', join(fs, 'filler')]);
    const imp = await t.cli(['import', exported, '--name', 'back']);
    expect(imp.code, imp.stderr).toBe(FULL);
    expect(imp.stderr).toContain(filesystem);
    expect(imp.stderr).toMatch(
      new RegExp(`while extracting export ${exported} into ${t.paths.guestsDir}/\\.build-back-\\d+ \\(nothing was kept\\)`),
    );
    const clone = await t.cli(['build', 'copy', '--clone', 'idle']);
    expect(clone.code, clone.stderr).toBe(FULL);
    expect(clone.stderr).toContain(filesystem);
    expect(clone.stderr).toContain(`while copying ${t.paths.rootfs('idle')} to ${t.paths.guestsDir}/.build-copy-`);
    expect(readdirSync(t.paths.guestsDir).sort()).toEqual(['idle', 'run1']);
    expect((await t.cli(['gc'])).code).toBe(0);
    await t.ok(['delete', 'run1']);
    expect(readdirSync(t.paths.locks)).toEqual([]);
    expect(await t.leaks()).toEqual([]);

    // with room again, everything works, and no file of the guest was lost
    rmSync(join(fs, 'filler'));
    rmSync(join(fs, 'filler-tail'));
    expect(readFileSync(join(t.paths.rootfs('idle'), 'root/data'), 'utf8')).toBe('kept\n');
    await t.ok(['limit', 'idle', 'pids.max', '50']);
    await t.ok(['start', 'idle']);
    expect((await t.ok(['exec', 'idle', '--', 'cat', '/root/data'])).trim()).toBe('kept');
    await t.ok(['stop', 'idle', '--timeout', '0']);
    await t.ok(['import', exported, '--name', 'back']);
    expect(existsSync(t.paths.guestConfig('back'))).toBe(true);
    await t.ok(['delete', 'back']);
    await t.ok(['delete', 'idle']);
    expect(await t.leaks()).toEqual([]);
  });

  it('import stops reading its archive and exits when it cannot take its lock', async () => {
    outer = new TestRoot('implock');
    t = outer;
    await t.ok(['build', 'src']);
    const file = join(t.root, 'src.vse');
    await t.ok(['export', 'src', file]);
    // a lock cannot be taken where the lock directory should be a file
    rmSync(t.paths.locks, { recursive: true, force: true });
    writeFileSync(t.paths.locks, '');
    const r = await t.cli(['import', file, '--name', 'copy'], { timeoutMs: 60_000 });
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBe(137); // not killed by the timeout: it exited by itself
    expect(r.stderr).toMatch(/^vserver: /);
    rmSync(t.paths.locks);
    expect(existsSync(t.paths.guestConfig('copy'))).toBe(false);
  });
});
