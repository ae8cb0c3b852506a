// Hostile exports: an archive's config and tree are the author's, not the importer's. Each test
// is an attack as an archive author would make it, with a control where the protection is off.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';
import { exportOf, withConfig } from '../helpers/exports.js';

/** Guest root's way to host root once it holds CAP_SYS_ADMIN over the host's user namespace. */
const CORE_PATTERN = 'mount -o remount,rw /proc/sys && exec 3>>/proc/sys/kernel/core_pattern && echo OPENED';

const PRIVILEGED = `context = 500
privileged = true
[security.capabilities]
add = ["SYS_ADMIN", "SYS_MODULE", "SYS_RAWIO", "NET_ADMIN"]
`;

describe.skipIf(!IS_ROOT)('an export whose config raises privilege', () => {
  const t = new TestRoot('hostile-cfg');
  const plain = join(t.root, 'plain.tar.zst');
  const crafted = join(t.root, 'crafted.tar.zst');
  afterAll(() => t.cleanup());

  beforeAll(async () => {
    await t.ok(['build', 'seed']);
    await t.ok(['export', 'seed', plain]);
    withConfig(plain, crafted, 'evil', PRIVILEGED);
  });

  it('imports unprivileged, says what it left out, and guest root cannot reach core_pattern', async () => {
    const r = await t.cli(['import', crafted]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /left out:\n {2}privileged = true\n {2}security\.capabilities\.add = \["SYS_ADMIN","SYS_MODULE","SYS_RAWIO","NET_ADMIN"\]\n/,
    );
    expect(r.stderr).toMatch(/--trust-config/);
    const cfg = readFileSync(t.paths.guestConfig('evil'), 'utf8');
    expect(cfg).not.toMatch(/privileged = true|SYS_ADMIN/);
    const info = JSON.parse((await t.cli(['status', 'evil', '--json'])).stdout);
    expect(info.privileged).toBe(false);
    expect(info.idmap.size).toBe(65536);
    await t.ok(['start', 'evil']);
    const attempt = await t.cli(['exec', 'evil', '--', 'sh', '-c', CORE_PATTERN]);
    expect(attempt.code).not.toBe(0);
    expect(attempt.stdout).not.toMatch(/OPENED/);
    await t.ok(['stop', 'evil', '--timeout', '0']);
  });

  it('control: with --trust-config the same archive keeps its privilege, says so, and the attempt gets through', async () => {
    const r = await t.cli(['import', crafted, '--name', 'trusted', '--trust-config']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/--trust-config: kept what the archive's config asks for:\n {2}privileged = true\n/);
    expect(JSON.parse((await t.cli(['status', 'trusted', '--json'])).stdout).privileged).toBe(true);
    await t.ok(['start', 'trusted']);
    const attempt = await t.cli(['exec', 'trusted', '--', 'sh', '-c', CORE_PATTERN]);
    expect(attempt.stdout.trim(), attempt.stderr).toBe('OPENED');
    await t.ok(['stop', 'trusted', '--timeout', '0']);
  });

  it('drops a seccomp profile from a host path and host networking, and the guest starts without them', async () => {
    const cfg =
      'context = 501\n[security]\nseccomp_profile = "/etc/passwd"\n[security.capabilities]\ndrop = ["NET_RAW"]\n' +
      '[[interfaces]]\nmode = "host"\n';
    const file = join(t.root, 'hostnet.tar.zst');
    withConfig(plain, file, 'hostnet', cfg);
    const r = await t.cli(['import', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).dropped).toEqual(['security.seccomp_profile = "/etc/passwd"', 'interfaces.0 (mode = "host")']);
    const kept = readFileSync(t.paths.guestConfig('hostnet'), 'utf8');
    expect(kept).not.toMatch(/seccomp_profile|interfaces|mode/);
    expect(kept).toMatch(/drop = \[ "NET_RAW" \]/);
    await t.ok(['start', 'hostnet']);
    // its own network namespace: loopback only, none of the host's devices
    const links = await t.ok(['exec', 'hostnet', '--', 'cat', '/proc/net/dev']);
    expect(
      links
        .split('\n')
        .filter((l) => l.includes(':'))
        .map((l) => l.split(':')[0]!.trim()),
    ).toEqual(['lo']);
    await t.ok(['stop', 'hostnet', '--timeout', '0']);
  });
});

describe.skipIf(!IS_ROOT)('a rootfs, upper, work or template that is a link', () => {
  const t = new TestRoot('hostile-link');
  afterAll(() => t.cleanup());
  const leftovers = () => readdirSync(t.paths.guestsDir).filter((d) => d.startsWith('.'));

  /** Replaces dir by a link to the host's root, keeping the directory aside; returns the undo. */
  const linkToRoot = (dir: string) => {
    renameSync(dir, `${dir}.real`);
    symlinkSync('/', dir);
    return () => {
      rmSync(dir);
      renameSync(`${dir}.real`, dir);
    };
  };

  it('refuses an export whose rootfs is a link to /, keeping nothing; the same archive with a directory imports', async () => {
    const mtime = '1700000000000000000';
    const evil = join(t.root, 'linked.tar.zst');
    writeFileSync(
      evil,
      exportOf(
        'linked',
        'context = 600\n',
        [{ name: 'rootfs', type: '2', linkname: '/' }],
        [['rootfs', 'symlink', 0o777, 0, 0, 0, mtime, '/', '', '', '']],
      ),
    );
    const r = await t.cli(['import', evil]);
    expect(r.code).toBe(17);
    expect(r.stderr).toMatch(/"rootfs" is the root of the tree and must be a directory, not a symlink/);
    expect(existsSync(t.paths.guestDir('linked'))).toBe(false);
    expect(existsSync(t.paths.guestConfig('linked'))).toBe(false);
    expect(leftovers()).toEqual([]);
    // control: the same archive with a real directory there is a valid (empty) export
    const fine = join(t.root, 'fine.tar.zst');
    writeFileSync(
      fine,
      exportOf('fine', 'context = 601\n', [{ name: 'rootfs/', type: '5' }], [['rootfs', 'dir', 0o755, 0, 0, 0, mtime, '', '', '', '']]),
    );
    await t.ok(['import', fine]);
    await t.ok(['delete', 'fine']);
  });

  it('refuses start, export, clone and template create on a guest whose rootfs became a link', async () => {
    await t.ok(['build', 'g1']);
    // control: on the real directory each of these works
    await t.ok(['template', 'create', 'from-g1', '--from-guest', 'g1']);
    await t.ok(['template', 'delete', 'from-g1']);
    const undo = linkToRoot(t.paths.rootfs('g1'));
    try {
      for (const args of [
        ['start', 'g1'],
        ['export', 'g1', join(t.root, 'g1.tar.zst')],
        ['build', 'c1', '--clone', 'g1'],
        ['template', 'create', 'stolen', '--from-guest', 'g1'],
      ]) {
        const r = await t.cli(args);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(9);
        expect(r.stderr).toMatch(/guest 'g1''s rootfs at .* is a symbolic link \(to "\/"\); it must be a real directory/);
      }
      expect(existsSync(t.paths.template('stolen'))).toBe(false);
      expect(existsSync(t.paths.guestDir('c1'))).toBe(false);
      expect(existsSync(join(t.root, 'g1.tar.zst'))).toBe(false);
      expect(await t.runtimeIds()).toEqual([]);
    } finally {
      undo();
    }
    await t.ok(['start', 'g1']);
    await t.ok(['stop', 'g1', '--timeout', '0']);
  });

  it('refuses to build from or mount a template, upper or work that became a link', async () => {
    await t.ok(['template', 'create', 'tp', '--from-guest', 'g1']);
    await t.ok(['build', 'o1', '--template', 'tp']);
    await t.ok(['mount', 'o1']);
    const cases: [string, string[], string][] = [
      [t.paths.templateRootfs('tp'), ['build', 'o2', '--template', 'tp'], "template 'tp''s rootfs"],
      [t.paths.templateRootfs('tp'), ['build', 'd2', '--template', 'tp', '--backend', 'dir'], "template 'tp''s rootfs"],
      [t.paths.templateRootfs('tp'), ['start', 'o1'], "template 'tp''s rootfs"],
      [t.paths.upper('o1'), ['start', 'o1'], "guest 'o1''s upper"],
      [t.paths.work('o1'), ['mount', 'o1'], "guest 'o1''s work"],
      [t.paths.upper('o1'), ['build', 'o3', '--clone', 'o1'], "guest 'o1''s upper"],
    ];
    for (const [dir, args, what] of cases) {
      // the merged tree is unmounted, as after a reboot, so that the next step has to mount it
      if (t.allMounts().includes(t.paths.rootfs('o1'))) execFileSync('umount', [t.paths.rootfs('o1')]);
      const undo = linkToRoot(dir);
      try {
        const r = await t.cli(args);
        const out = r.stderr + r.stdout;
        // mount reports each guest's failure and exits 1; the others stop with ROOTFS_MISSING
        expect(r.code, `${args.join(' ')}: ${out}`).toBe(args[0] === 'mount' ? 1 : 9);
        expect(out).toContain(`${what} at ${dir} is a symbolic link`);
      } finally {
        undo();
      }
      expect(t.mounts()).toEqual([]);
    }
    expect(readdirSync(t.paths.guestsDir).sort()).toEqual(['g1', 'o1']);
    await t.ok(['start', 'o1']);
    expect((await t.ok(['exec', 'o1', '--', 'cat', '/etc/hostname'])).trim()).toBe('o1');
    await t.ok(['stop', 'o1', '--timeout', '0']);
  });
});

describe.skipIf(!IS_ROOT)('imports that hold odd links or fail late', () => {
  const t = new TestRoot('hostile-late');
  afterAll(() => t.cleanup());
  const leftovers = () => readdirSync(t.paths.guestsDir).filter((d) => d.startsWith('.'));

  it('imports a real export whose links climb above / and point at host paths, keeping each link as it is', async () => {
    await t.ok(['build', 'links']);
    await t.ok(['start', 'links']);
    await t.ok([
      'exec',
      'links',
      '--',
      'sh',
      '-c',
      'ln -s ../../../../../tmp/x /rel && ln -s /etc/shadow /abs && mkdir /d && ln -s ../../.. /d/up',
    ]);
    await t.ok(['stop', 'links', '--timeout', '0']);
    const archive = join(t.root, 'links.tar.zst');
    await t.ok(['export', 'links', archive]);
    const r = await t.cli(['import', archive, '--name', 'links2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/imported guest links2 .* every file matched the manifest/);
    expect(leftovers()).toEqual([]);
    await t.ok(['start', 'links2']);
    expect(
      (await t.ok(['exec', 'links2', '--', 'sh', '-c', 'for l in /rel /abs /d/up; do readlink $l; done'])).split('\n').slice(0, 3),
    ).toEqual(['../../../../../tmp/x', '/etc/shadow', '../../..']);
    await t.ok(['stop', 'links2', '--timeout', '0']);
  });

  it('says why and exits non-zero when an import fails in the middle of a large archive, leaving nothing', async () => {
    const big = Buffer.alloc(8 << 20, 7);
    const file = join(t.root, 'late.tar.zst');
    writeFileSync(
      file,
      exportOf(
        'late',
        'context = 700\n',
        [
          { name: 'rootfs/', type: '5' },
          { name: 'rootfs/a', content: big },
          { name: 'rootfs/zz', content: 'x', uid: 70000 },
          { name: 'rootfs/zz2', content: big },
        ],
        [],
      ),
    );
    const r = await t.cli(['import', file], { timeoutMs: 60_000 });
    expect(r.code).toBe(17);
    expect(r.stderr).toMatch(/"rootfs\/zz" is owned by uid 70000, outside a guest's ids/);
    expect(existsSync(t.paths.guestDir('late'))).toBe(false);
    expect(leftovers()).toEqual([]);
  });
});
