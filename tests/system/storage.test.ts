// Templates and overlay guests, tarballs (good and hostile), clones, export/import, du, and what
// an interrupted or starved build leaves: all through the real CLI.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostProcesses, IS_ROOT, TestRoot } from '../helpers/host.js';
import { compress, miniRootTar, tarOf, treeDigest } from '../helpers/trees.js';

const RANGE = 65536;

describe.skipIf(!IS_ROOT)('templates and overlay guests', () => {
  const t = new TestRoot('ovl');
  afterAll(() => t.cleanup());
  const tpl = () => t.paths.templateRootfs('bb');

  beforeAll(async () => {
    await t.ok(['build', 'seed']);
    await t.ok(['template', 'create', 'bb', '--from-guest', 'seed']);
    for (const g of ['o1', 'o2', 'o3']) await t.ok(['build', g, '--template', 'bb']);
  });

  it('lists the template with the overlay guests that share it', async () => {
    const list = JSON.parse(await t.ok(['template', 'list', '--json'])) as { name: string; guests: string[]; context?: number }[];
    const bb = list.find((x) => x.name === 'bb')!;
    expect(bb.guests).toEqual(['o1', 'o2', 'o3']);
    expect(list.find((x) => x.name === 'busybox')).toMatchObject({ builtin: true });
    // the overlay guests run with the template's ids, each with a context of its own
    const infos = await Promise.all(['o1', 'o2'].map(async (g) => JSON.parse((await t.cli(['status', g, '--json'])).stdout)));
    expect(infos[0].idmap.base).toBe(bb.context! * RANGE);
    expect(infos[1].idmap.base).toBe(bb.context! * RANGE);
    expect(infos[0].context).not.toBe(infos[1].context);
    expect(infos[0].backend).toBe('overlay');
  });

  it('keeps a change in one guest out of the others and out of the template', async () => {
    await t.ok(['start', 'o1']);
    await t.ok(['exec', 'o1', '--', 'sh', '-c', 'echo changed > /etc/profile; rm /etc/shells; echo new > /root/new']);
    expect(await t.ok(['exec', 'o1', '--', 'cat', '/etc/profile'])).toBe('changed\n');
    await t.ok(['start', 'o2']);
    expect(await t.ok(['exec', 'o2', '--', 'cat', '/etc/profile'])).toMatch(/^export PATH=/);
    expect((await t.cli(['exec', 'o2', '--', 'ls', '/root/new'])).code).not.toBe(0);
    expect(await t.ok(['exec', 'o2', '--', 'cat', '/etc/shells'])).toContain('/bin/sh');
    expect(readFileSync(join(tpl(), 'etc/profile'), 'utf8')).toMatch(/^export PATH=/);
    expect(existsSync(join(tpl(), 'etc/shells'))).toBe(true);
    // each guest has its own host name, written into its own layer
    expect((await t.ok(['exec', 'o2', '--', 'cat', '/etc/hostname'])).trim()).toBe('o2');
    expect(readFileSync(join(tpl(), 'etc/hostname'), 'utf8').trim()).toBe('seed');
    // and the host opens guest files as ordinary files at the rootfs path
    expect(readFileSync(join(t.paths.rootfs('o1'), 'etc/profile'), 'utf8')).toBe('changed\n');
    await t.ok(['stop', 'o1', '--timeout', '0']);
    await t.ok(['stop', 'o2', '--timeout', '0']);
  });

  it('mounts the merged tree again when something unmounted it (as after a reboot)', async () => {
    execFileSync('umount', [t.paths.rootfs('o3')]);
    expect(existsSync(join(t.paths.rootfs('o3'), 'etc'))).toBe(false);
    expect(await t.ok(['mount', '--all'])).toMatch(/o3: mounted/);
    expect(existsSync(join(t.paths.rootfs('o3'), 'etc/passwd'))).toBe(true);
    execFileSync('umount', [t.paths.rootfs('o3')]);
    await t.ok(['start', 'o3']); // start mounts it itself
    expect((await t.ok(['exec', 'o3', '--', 'hostname'])).trim()).toBe('o3');
    await t.ok(['stop', 'o3', '--timeout', '0']);
  });

  it('refuses to delete a template in use, and deleting a guest leaves the template alone', async () => {
    const r = await t.cli(['template', 'delete', 'bb']);
    expect(r.code).toBe(18);
    expect(r.stderr).toMatch(/used by guests o1, o2, o3/);
    const before = treeDigest(tpl(), 0);
    // guest root plants links to the template's and the host's files before the delete
    await t.ok(['start', 'o1']);
    await t.ok(['exec', 'o1', '--', 'sh', '-c', `ln -s ${tpl()} /to-template; ln -s / /to-host; ln -s /etc /etc-link`]);
    await t.ok(['delete', '--force', 'o1']);
    expect(existsSync(t.paths.guestDir('o1'))).toBe(false);
    expect(treeDigest(tpl(), 0)).toEqual(before);
    expect(t.mounts()).toEqual([]);
    await t.ok(['start', 'o2']);
    expect((await t.ok(['exec', 'o2', '--', 'hostname'])).trim()).toBe('o2');
    await t.ok(['stop', 'o2', '--timeout', '0']);
  });

  it('builds an overlay guest with the same work whatever the template size', async () => {
    // a second template, 32 MB in 2000 files more than bb
    await t.ok(['build', 'bigseed']);
    const data = join(t.paths.rootfs('bigseed'), 'data');
    mkdirSync(data);
    for (let i = 0; i < 2000; i++) writeFileSync(join(data, `f${i}`), Buffer.alloc(16384, i % 251));
    await t.ok(['template', 'create', 'big', '--from-guest', 'bigseed']);
    // names of one length, so that the files written for them (hostname) have one size too
    await t.ok(['build', 'quick', '--template', 'bb']);
    await t.ok(['build', 'large', '--template', 'big']);
    const written = (g: string) => {
      const upper = t.paths.upper(g);
      return readdirSync(upper, { recursive: true })
        .map(String)
        .sort()
        .map((f) => {
          const st = lstatSync(join(upper, f));
          return `${f} ${st.isDirectory() ? 'dir' : st.size}`;
        });
    };
    expect(written('quick')).toEqual(written('large'));
    expect(written('large').length).toBeLessThan(10); // a few files of its own, no copy of the template's
    expect(statSync(join(t.paths.rootfs('large'), 'data/f1999')).size).toBe(16384); // and it sees them all
    for (const g of ['large', 'bigseed']) await t.ok(['delete', g]);
    await t.ok(['template', 'delete', 'big']);
  });

  it('gives an --isolated guest its own copy and id range', async () => {
    const info = JSON.parse(await t.ok(['build', 'iso', '--template', 'bb', '--isolated', '--json']));
    expect(info.backend).toBe('dir');
    expect(info.idmap.base).toBe(info.context * RANGE);
    expect(statSync(join(t.paths.rootfs('iso'), 'etc/passwd')).uid).toBe(info.context * RANGE);
    const r = await t.cli(['build', 'iso2', '--template', 'bb', '--backend', 'overlay', '--isolated']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot be --isolated/);
  });

  it('shows disk use per guest with the template apart', async () => {
    const rows = JSON.parse(await t.ok(['du', '--json'])) as {
      name: string;
      bytes: number;
      inodes: number;
      sharedBytes?: number;
      template?: string;
    }[];
    const quick = rows.find((r) => r.name === 'quick')!;
    const iso = rows.find((r) => r.name === 'iso')!;
    expect(quick.template).toBe('bb');
    expect(quick.sharedBytes).toBeGreaterThan(1_000_000); // the busybox binary lives in the template
    expect(quick.bytes).toBeLessThan(100_000);
    expect(iso.bytes).toBeGreaterThan(1_000_000);
    expect(iso.template).toBeUndefined();
    expect(await t.ok(['du'])).toMatch(/^NAME\s+BACKEND\s+BYTES\s+INODES\s+SHARED FROM/);
  });

  it('deletes the template once no guest uses it, leaving no mount', async () => {
    for (const g of ['o2', 'o3', 'quick']) await t.ok(['delete', g]);
    // the last guests go too, so that not even the lxcfs the guests shared stays mounted
    for (const g of JSON.parse(await t.ok(['list', '--json'])) as { name: string }[]) await t.ok(['delete', '--force', g.name]);
    await t.ok(['template', 'delete', 'bb']);
    expect(existsSync(t.paths.template('bb'))).toBe(false);
    expect(t.allMounts()).toEqual([]);
    expect(await t.leaks()).toEqual([]);
  });
});

describe.skipIf(!IS_ROOT)('tarballs', () => {
  const t = new TestRoot('tarb');
  const outside = join(t.root, 'outside');
  afterAll(() => t.cleanup());
  beforeAll(() => {
    mkdirSync(outside);
    writeFileSync(join(outside, 'precious'), 'host data\n');
  });

  const file = (name: string, data: Buffer) => {
    const p = join(t.root, name);
    writeFileSync(p, data);
    return p;
  };

  it('builds from tar, tar.gz, tar.xz and tar.zst, owned by the guest range', async () => {
    for (const kind of ['none', 'gzip', 'xz', 'zstd'] as const) {
      const name = `t-${kind}`;
      const f = file(`${name}.tar`, compress(miniRootTar(), kind));
      const info = JSON.parse(await t.ok(['build', name, '--tarball', f, '--json']));
      const root = t.paths.rootfs(name);
      const base = info.context * RANGE;
      expect(readFileSync(join(root, 'usr/lib/os-release'), 'utf8')).toBe('ID=mini\n');
      expect(statSync(join(root, 'home/user/notes')).uid).toBe(base + 1000);
      expect(statSync(join(root, 'etc/passwd')).uid).toBe(base);
      expect(statSync(root).uid).toBe(base);
      expect(statSync(join(root, 'usr/lib/hard')).ino).toBe(statSync(join(root, 'usr/lib/os-release')).ino);
      // its identity is the new guest's
      expect(readFileSync(join(root, 'etc/hostname'), 'utf8')).toBe(`${name}\n`);
      await t.ok(['delete', name]);
    }
  });

  const hostile: [string, Buffer, RegExp][] = [
    ['absolute', tarOf([{ name: '/tmp/evil', content: 'x' }]), /is an absolute path/],
    ['dotdot', tarOf([{ name: 'a/../../outside/precious', content: 'x' }]), /contains '\.\.'/],
    ['symlink out', tarOf([{ name: 'evil', type: '2', linkname: '../../../../outside' }]), /symlink pointing out/],
    [
      'write through symlink',
      tarOf([
        { name: 'd', type: '2', linkname: 'etc' },
        { name: 'd/x', content: 'x' },
      ]),
      /lies under the symlink/,
    ],
    ['hard link out', tarOf([{ name: 'h', type: '1', linkname: '/etc/shadow' }]), /absolute path/],
    ['hard link to nothing', tarOf([{ name: 'h', type: '1', linkname: 'etc/shadow' }]), /not an earlier file/],
    [
      'hard link via symlink',
      tarOf([
        { name: 'l', type: '2', linkname: '/' },
        { name: 'h', type: '1', linkname: 'l/etc/shadow' },
      ]),
      /lies under the symlink/,
    ],
    ['pax path', tarOf([{ name: 'fine', content: 'x', pax: { path: '../../outside/precious' } }]), /contains '\.\.'/],
    ['sparse', tarOf([{ name: 's', type: 'S' }]), /not supported/],
    ['owner out of range', tarOf([{ name: 'f', content: 'x', uid: 70000 }]), /outside the 65536 ids/],
  ];

  for (const [what, data, msg] of hostile) {
    it(`refuses a tarball with ${what}, writing nothing`, async () => {
      const r = await t.cli(['build', 'evil', '--tarball', file('evil.tar.gz', compress(data, 'gzip'))]);
      expect(r.code, r.stderr).toBe(17);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).toMatch(/unsafe|owned by/);
      expect(existsSync(t.paths.guestConfig('evil'))).toBe(false);
      expect(readdirSync(t.paths.guestsDir)).toEqual([]);
      expect(readdirSync(outside)).toEqual(['precious']);
      expect(readFileSync(join(outside, 'precious'), 'utf8')).toBe('host data\n');
    });
  }

  it('refuses corrupt, truncated and foreign files with a clear message', async () => {
    const good = compress(miniRootTar(), 'zstd');
    const tarBytes = miniRootTar();
    const badSum = Buffer.from(tarBytes);
    badSum[600] = badSum[600]! ^ 0xff; // inside the second header
    const cases: [string, Buffer, RegExp][] = [
      ['truncated.tar.zst', good.subarray(0, good.length - 40), /corrupt|truncated/],
      ['truncated.tar', tarBytes.subarray(0, 1536 + 100), /truncated/],
      ['badsum.tar', badSum, /bad header checksum/],
      ['notatar.tar', Buffer.from('hello, this is not an archive\n'.repeat(40)), /not a tar archive/],
    ];
    for (const [name, data, msg] of cases) {
      const r = await t.cli(['build', 'bad', '--tarball', file(name, data)]);
      expect({ name, code: r.code }).toEqual({ name, code: 17 });
      expect(r.stderr).toMatch(msg);
      expect(readdirSync(t.paths.guestsDir)).toEqual([]);
    }
    const missing = await t.cli(['build', 'bad', '--tarball', join(t.root, 'nope.tar')]);
    expect(missing.code).toBe(4);
  });

  it('refuses a name that exists and another source at once', async () => {
    await t.ok(['build', 'taken']);
    const r = await t.cli(['build', 'taken', '--tarball', file('ok.tar', miniRootTar())]);
    expect(r.code).toBe(12);
    const both = await t.cli(['build', 'x', '--tarball', 'a.tar', '--clone', 'taken']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/give one source/);
    await t.ok(['delete', 'taken']);
  });
});

describe.skipIf(!IS_ROOT)('clones, export and import', () => {
  const t = new TestRoot('xport');
  afterAll(() => t.cleanup());

  beforeAll(async () => {
    await t.ok(['build', 'src', '--context', '410']);
    const root = t.paths.rootfs('src');
    const base = 410 * RANGE;
    // what a round trip must keep: hard links, devices, fifos, set-id bits, xattrs, odd names, owners
    await t.ok(['start', 'src']);
    await t.ok([
      'exec',
      'src',
      '--',
      'sh',
      '-c',
      [
        'mkdir -p /data/deep/er && echo hello > /data/a && ln /data/a /data/a-hard && ln -s ../data/a /data/rel-link',
        'dd if=/dev/urandom of=/data/random bs=1k count=300 2>/dev/null && chmod 4755 /data/random && chown 33:44 /data/a',
        'mkfifo /data/fifo && touch "/data/odd name \\t with tab" && chmod 2750 /data/deep',
        `touch /data/${'long'.repeat(40)}`,
      ].join(' && '),
    ]);
    await t.ok(['stop', 'src', '--timeout', '0']);
    execFileSync('mknod', [join(root, 'data/null-dev'), 'c', '1', '3']);
    execFileSync('chown', [`${base}:${base}`, join(root, 'data/null-dev')]);
    execFileSync('setfattr', ['-n', 'user.colour', '-v', 'blue', join(root, 'data/a')]);
    execFileSync('setfattr', ['-n', 'trusted.note', '-v', '0x00ff10', join(root, 'data/random')]);
  });

  it('round-trips a guest bit for bit through export and import', async () => {
    const archive = join(t.root, 'src.tar.zst');
    const out = await t.ok(['export', 'src', archive]);
    expect(out).toMatch(/exported guest src/);
    expect(readFileSync(archive).readUInt32LE(0)).toBe(0xfd2fb528);
    const info = JSON.parse(await t.ok(['import', archive, '--name', 'dst', '--json']));
    expect(info.name).toBe('dst');
    expect(info.context).not.toBe(410);
    const a = treeDigest(t.paths.rootfs('src'), 410 * RANGE);
    const b = treeDigest(t.paths.rootfs('dst'), info.context * RANGE);
    expect([...b.entries()]).toEqual([...a.entries()]);
    expect(a.get('data/null-dev')).toMatch(/^c /);
    expect(a.get('data/a')).toMatch(/user\.colour/);
    // the copy runs as a guest of its own
    await t.ok(['start', 'dst']);
    expect((await t.ok(['exec', 'dst', '--', 'stat', '-c', '%u:%g %A', '/data/a', '/data/random'])).trim().split('\n')).toEqual([
      '33:44 -rw-r--r--',
      '0:0 -rwsr-xr-x',
    ]);
    await t.ok(['stop', 'dst', '--timeout', '0']);
  });

  it('streams through standard output and input, and refuses an archive that does not match its manifest', async () => {
    const out = spawnSync(process.execPath, [join(__dirname, '../../dist/vserver.cjs'), 'export', 'src', '-'], {
      env: t.env(),
      maxBuffer: 1 << 28,
    });
    expect(out.status).toBe(0);
    const imp = spawnSync(process.execPath, [join(__dirname, '../../dist/vserver.cjs'), 'import', '-', '--name', 'piped'], {
      env: t.env(),
      input: out.stdout,
    });
    expect(imp.status, imp.stderr.toString()).toBe(0);
    // change one byte of one file inside the (decompressed) archive, and the import refuses it
    const raw = execFileSync('zstd', ['-dc'], { input: out.stdout, maxBuffer: 1 << 28 });
    const at = raw.indexOf(Buffer.from('hello\n'));
    expect(at).toBeGreaterThan(0);
    raw[at] = 'j'.charCodeAt(0);
    const tampered = join(t.root, 'tampered.tar');
    writeFileSync(tampered, raw);
    const r = await t.cli(['import', tampered, '--name', 'tampered']);
    expect(r.code).toBe(20);
    expect(r.stderr).toMatch(/rootfs\/data\/a differs from the manifest \(sha256\)/);
    expect(existsSync(t.paths.guestDir('tampered'))).toBe(false);
    const short = join(t.root, 'short.tar');
    writeFileSync(short, raw.subarray(0, raw.length - 8192));
    expect((await t.cli(['import', short, '--name', 'short'])).code).not.toBe(0);
    expect(readdirSync(t.paths.guestsDir).sort()).toEqual(['dst', 'piped', 'src']);
    const dup = await t.cli(['import', join(t.root, 'src.tar.zst')]);
    expect(dup.code).toBe(12);
  });

  it('exports and measures links a guest planted as links, never what they point to', async () => {
    const outside = join(t.root, 'outside');
    mkdirSync(outside);
    execFileSync('dd', ['if=/dev/urandom', `of=${join(outside, 'secret')}`, 'bs=1M', 'count=4', 'status=none']);
    await t.ok(['build', 'planter', '--context', '420']);
    await t.ok(['start', 'planter']);
    await t.ok([
      'exec',
      'planter',
      '--',
      'sh',
      '-c',
      `ln -s ${outside}/secret /secret-link; ln -s ${outside} /outside-dir; ln -s / /root-link`,
    ]);
    await t.ok(['stop', 'planter', '--timeout', '0']);
    const [row] = JSON.parse(await t.ok(['du', 'planter', '--json']));
    expect(row.bytes).toBeLessThan(3 << 20); // the busybox tree only, not the 4 MB behind the link
    const archive = join(t.root, 'planter.tar.zst');
    await t.ok(['export', 'planter', archive]);
    const listing = execFileSync('sh', ['-c', 'zstd -dcq "$1" | tar -tvf -', 'sh', archive]).toString();
    expect(listing).toMatch(new RegExp(`^l.* rootfs/secret-link -> ${outside}/secret$`, 'm'));
    expect(listing).not.toMatch(/rootfs\/outside-dir\/secret/);
    expect(statSync(archive).size).toBeLessThan(3 << 20);
    await t.ok(['delete', 'planter']);
  });

  it('clones a stopped guest with a new context, hostname and id range', async () => {
    const info = JSON.parse(await t.ok(['build', 'cl', '--clone', 'src', '--json']));
    expect(info.context).not.toBe(410);
    const a = treeDigest(t.paths.rootfs('src'), 410 * RANGE);
    const b = treeDigest(t.paths.rootfs('cl'), info.context * RANGE);
    for (const [k, v] of a) if (!k.startsWith('etc/host')) expect(b.get(k), k).toEqual(v);
    expect(readFileSync(join(t.paths.rootfs('cl'), 'etc/hostname'), 'utf8')).toBe('cl\n');
    // a clone gets new addresses and leaves the source's host ports alone (this guest is never started)
    await t.ok(['build', 'netsrc']);
    await t.ok(['config', 'netsrc', 'interfaces', '[{ mode = "bridge", address = "10.47.0.9", ports = ["8080:80"] }]']);
    const netcl = await t.cli(['build', 'netcl', '--clone', 'netsrc']);
    expect(netcl.code).toBe(0);
    expect(netcl.stderr).toMatch(/port forwards 8080:80 are left out/);
    expect(JSON.parse(await t.ok(['config', 'netcl', 'interfaces', '--json']))).toEqual([{ mode: 'bridge', address: 'auto' }]);
    for (const g of ['netsrc', 'netcl']) await t.ok(['delete', g]);
    await t.ok(['start', 'src']);
    const r = await t.cli(['build', 'cl2', '--clone', 'src']);
    expect(r.code).toBe(6);
    await t.ok(['stop', 'src', '--timeout', '0']);
    for (const g of ['src', 'dst', 'piped', 'cl']) await t.ok(['delete', g]);
    expect(await t.leaks()).toEqual([]);
  });
});

describe.skipIf(!IS_ROOT)('interrupted and starved builds', () => {
  const t = new TestRoot('intr');
  afterAll(() => t.cleanup());

  it('leaves nothing behind when the build is killed with SIGKILL, and a retry works', async () => {
    // a tarball large enough to take a while to unpack
    const big = join(t.root, 'big.tar.zst');
    const dir = join(t.root, 'bigsrc');
    mkdirSync(join(dir, 'data'), { recursive: true });
    for (let i = 0; i < 60; i++)
      execFileSync('dd', ['if=/dev/urandom', `of=${join(dir, 'data', `f${i}`)}`, 'bs=1M', 'count=5', 'status=none']);
    execFileSync('sh', ['-c', 'tar -C "$1" -cf - . | zstd -q -1 -o "$2"', 'sh', dir, big]);
    let interrupted = 0;
    for (const delay of [250, 500, 800]) {
      const child = t.spawnCli(['build', 'big', '--tarball', big]);
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await exited;
      await new Promise((r) => setTimeout(r, 200));
      // the tar and zstd it started died with it
      const left = [...hostProcesses().values()].filter(
        (c) => c.includes(big) || c === 'zstd -dcq' || (c.startsWith('tar') && c.includes(t.root)),
      );
      expect(left).toEqual([]);
      // a guest is there whole (the build finished first) or not at all
      const whole = existsSync(t.paths.guestConfig('big'));
      expect(existsSync(t.paths.guestDir('big'))).toBe(whole);
      if (whole) await t.ok(['delete', 'big']);
      else interrupted++;
    }
    expect(interrupted).toBeGreaterThan(0);
    await t.ok(['build', 'big', '--tarball', big]);
    expect(readdirSync(t.paths.guestsDir)).toEqual(['big']);
    expect(statSync(join(t.paths.rootfs('big'), 'data/f59')).size).toBe(5 << 20);
    await t.ok(['delete', 'big']);
  });

  it('fails cleanly on a full disk and works once there is room', async () => {
    const img = join(t.root, 'small.img');
    execFileSync('truncate', ['-s', '24M', img]);
    execFileSync('mkfs.ext4', ['-q', '-F', img]);
    mkdirSync(t.paths.guestsDir, { recursive: true });
    execFileSync('mount', ['-o', 'loop', img, t.paths.guestsDir]);
    try {
      const filler = join(t.paths.guestsDir, 'filler');
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M', 'count=14', 'status=none']);
      const data = join(t.root, 'ten.tar.gz');
      const src = join(t.root, 'ten');
      mkdirSync(src);
      execFileSync('dd', ['if=/dev/urandom', `of=${join(src, 'blob')}`, 'bs=1M', 'count=10', 'status=none']);
      execFileSync('tar', ['-C', src, '-czf', data, '.']);
      const r = await t.cli(['build', 'full', '--tarball', data]);
      expect(r.code).toBe(26);
      expect(r.stderr).toContain(`no space left on ${t.paths.guestsDir} (ext4 on /dev/loop`);
      expect(r.stderr).toMatch(/while extracting tarball .*ten\.tar\.gz into .*\.build-full-\d+\/rootfs \(nothing was kept\)/);
      expect(readdirSync(t.paths.guestsDir).sort()).toEqual(['filler', 'lost+found']);
      expect(existsSync(t.paths.guestConfig('full'))).toBe(false);
      execFileSync('rm', [filler]);
      await t.ok(['build', 'full', '--tarball', data]);
      expect(statSync(join(t.paths.rootfs('full'), 'blob')).size).toBe(10 << 20);
      await t.ok(['delete', 'full']);
    } finally {
      execFileSync('umount', [t.paths.guestsDir]);
    }
    expect(t.allMounts()).toEqual([]);
  });

  it('says unify is unsupported on a filesystem without reflinks', async () => {
    await t.ok(['build', 'u1']);
    const r = await t.cli(['unify']);
    expect(r.code).toBe(19);
    expect(r.stderr).toMatch(/unify is not supported .* it is on (ext4|tmpfs)/);
    await t.ok(['delete', 'u1']);
  });
});

describe.skipIf(!IS_ROOT)('unify on XFS', () => {
  const t = new TestRoot('xfs');
  afterAll(() => t.cleanup());

  it('shares identical files between dir guests and reports the bytes saved', async () => {
    const img = join(t.root, 'xfs.img');
    execFileSync('truncate', ['-s', '320M', img]);
    execFileSync('mkfs.xfs', ['-q', '-m', 'reflink=1', img]);
    mkdirSync(t.paths.lib, { recursive: true });
    execFileSync('mount', ['-o', 'loop', img, t.paths.lib]);
    try {
      const blobSrc = join(t.root, 'blob');
      execFileSync('dd', ['if=/dev/urandom', `of=${blobSrc}`, 'bs=1M', 'count=24', 'status=none']);
      for (const g of ['x1', 'x2', 'x3']) {
        const info = JSON.parse(await t.ok(['build', g, '--json']));
        const dst = join(t.paths.rootfs(g), 'opt');
        mkdirSync(dst);
        // separate copies: nothing is shared before unify
        execFileSync('cp', ['--reflink=never', blobSrc, join(dst, 'blob')]);
        execFileSync('chown', ['-R', `${info.context * RANGE}:${info.context * RANGE}`, dst]);
      }
      await t.ok(['start', 'x2']); // a running guest may be unified too: the kernel compares the bytes
      const r = JSON.parse(await t.ok(['unify', '--json']));
      expect(r.deduped).toBeGreaterThanOrEqual(2 * 24 * 1024 * 1024);
      expect(r.freed).toBeGreaterThanOrEqual(40 * 1024 * 1024);
      const blob = (g: string) => readFileSync(join(t.paths.rootfs(g), 'opt/blob'));
      expect(blob('x1').equals(blob('x3'))).toBe(true);
      // the blocks are shared, the files are not: a change in one guest stays there
      await t.ok(['exec', 'x2', '--', 'sh', '-c', 'echo changed > /opt/blob']);
      expect(blob('x2').toString()).toBe('changed\n');
      expect(blob('x1').length).toBe(24 << 20);
      const again = JSON.parse(await t.ok(['unify', '--json']));
      expect(again.freed).toBeLessThan(1024 * 1024);
      expect(await t.ok(['unify'])).toMatch(/deduplicated .* the filesystem freed/);
      await t.ok(['stop', 'x2', '--timeout', '0']);
      for (const g of ['x1', 'x2', 'x3']) await t.ok(['delete', g]);
    } finally {
      execFileSync('umount', [t.paths.lib]);
    }
    expect(t.allMounts()).toEqual([]);
    expect(lstatSync(img).isFile()).toBe(true);
  });
});
