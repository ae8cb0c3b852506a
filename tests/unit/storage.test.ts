import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { compareManifest, idMapText, mtimeNs, rowsOf, type ManifestRow } from '../../src/storage/archive.js';
import { adjustInittab, hostsFor, lockRootPassword } from '../../src/storage/debian.js';
import { ProgressParser } from '../../src/storage/debootstrap.js';
import { mountsUnder, parseMountinfo } from '../../src/util/mounts.js';
import { overlayOptions } from '../../src/storage/overlay.js';
import { TarFilter, type FilterOptions, type ManifestEntry } from '../../src/storage/tar/filter.js';
import { BLOCK, encodePax, makeHeader, parseHeader, parsePax, readNumber, writeNumber } from '../../src/storage/tar/header.js';
import { memberParts, symlinkStaysInside, TreePolicy } from '../../src/storage/tar/policy.js';
import { detectCompression } from '../../src/storage/tar/run.js';
import { progressBar } from '../../src/cli/progress.js';
import { tarOf } from '../helpers/trees.js';

describe('tar numbers and headers', () => {
  it('reads and writes octal and base-256 numbers as GNU tar does', () => {
    const b = Buffer.alloc(8);
    for (const n of [0, 7, 0o7777777, 2097152, 100 * 65536, 49151 * 65536 + 65535]) {
      writeNumber(b, 0, 8, n);
      expect(readNumber(b, 0, 8)).toBe(n);
    }
    writeNumber(b, 0, 8, 6553600);
    expect(b[0]).toBe(0x80); // too large for 7 octal digits
    expect(readNumber(Buffer.from('  0644 \0'), 0, 8)).toBe(0o644);
    expect(() => readNumber(Buffer.from('12x4\0\0\0\0'), 0, 8)).toThrow(/bad number/);
  });

  it('checks the header checksum', () => {
    const h = makeHeader({ name: 'etc/passwd', type: '0', size: 12, uid: 6553600 });
    expect(parseHeader(h)).toMatchObject({ name: 'etc/passwd', type: '0', size: 12, uid: 6553600 });
    h[3] = 0x41;
    expect(() => parseHeader(h)).toThrow(/checksum/);
  });

  it('encodes pax records whose length counts its own digits', () => {
    for (const len of [1, 5, 88, 89, 90, 95, 989, 990, 995]) {
      const recs: [string, Buffer][] = [
        ['path', Buffer.from('x'.repeat(len))],
        ['SCHILY.xattr.user.a', Buffer.from([0, 255, 10])],
      ];
      expect(parsePax(encodePax(recs))).toEqual(recs);
    }
  });
});

describe('member policy', () => {
  it('splits names and refuses absolute ones and ..', () => {
    expect(memberParts('./etc//passwd')).toEqual(['etc', 'passwd']);
    expect(memberParts('./')).toEqual([]);
    expect(memberParts('/etc/passwd')).toEqual({ unsafe: 'is an absolute path' });
    expect(memberParts('a/../b')).toEqual({ unsafe: "contains '..'" });
  });

  it('tells symlinks that stay inside from those that point out', () => {
    expect(symlinkStaysInside(['etc', 'os-release'], '../usr/lib/os-release')).toBe(true);
    expect(symlinkStaysInside(['etc', 'localtime'], '/usr/share/zoneinfo/UTC')).toBe(true);
    expect(symlinkStaysInside(['bin'], 'usr/bin')).toBe(true);
    expect(symlinkStaysInside(['etc', 'x'], '../../etc/shadow')).toBe(false);
    expect(symlinkStaysInside(['x'], '/../etc')).toBe(false);
    expect(symlinkStaysInside(['x'], '')).toBe(false);
  });

  it('follows the archive in order: links, hard links and what lies under them', () => {
    const p = new TreePolicy();
    p.check('etc/', 'dir', '');
    p.check('etc/passwd', 'file', '');
    p.check('etc/passwd-hard', 'hardlink', 'etc/passwd');
    p.check('lib', 'symlink', 'usr/lib');
    expect(() => p.check('lib/evil', 'file', '')).toThrow(/under the symlink "lib"/);
    expect(() => p.check('x', 'hardlink', 'lib/libc.so')).toThrow(/under the symlink/);
    expect(() => p.check('y', 'hardlink', 'etc/shadow')).toThrow(/not an earlier file/);
    expect(() => p.check('lib', 'dir', '')).toThrow(/replaces a symlink/);
    expect(() => p.check('etc/passwd/x', 'file', '')).toThrow(/not a directory/);
    const under = new TreePolicy('rootfs');
    under.check('rootfs', 'dir', '');
    expect(() => under.check('config.toml', 'file', '')).toThrow(/outside rootfs\//);
    // the tree's root must be a directory: a link there (even to "/", which "stays inside") is refused
    for (const [type, link] of [
      ['symlink', '/'],
      ['symlink', '.'],
      ['file', ''],
      ['hardlink', 'rootfs/x'],
    ] as const) {
      expect(() => new TreePolicy('rootfs').check('./rootfs/', type, link)).toThrow(/root of the tree and must be a directory/);
    }
  });
});

async function filter(tar: Buffer, opts: FilterOptions): Promise<{ out: Buffer; f: TarFilter }> {
  const f = new TarFilter(opts);
  const chunks: Buffer[] = [];
  // odd chunk sizes, so that headers and data are split across chunks
  const pieces: Buffer[] = [];
  for (let i = 0; i < tar.length; i += 333) pieces.push(tar.subarray(i, i + 333));
  await pipeline(
    Readable.from(pieces),
    f,
    new Writable({
      write(c, _e, cb) {
        chunks.push(c);
        cb();
      },
    }),
  );
  return { out: Buffer.concat(chunks), f };
}

function members(tar: Buffer): { name: string; uid: number; type: string }[] {
  const out: { name: string; uid: number; type: string }[] = [];
  let off = 0;
  let pax: Map<string, string> | undefined;
  while (off + BLOCK <= tar.length && tar[off] !== 0) {
    const h = parseHeader(tar.subarray(off, off + BLOCK));
    const size = h.size;
    const data = tar.subarray(off + BLOCK, off + BLOCK + size);
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (h.type === 'x') {
      pax = new Map(parsePax(data).map(([k, v]) => [k, v.toString()]));
      continue;
    }
    out.push({ name: pax?.get('path') ?? h.name, uid: pax?.has('uid') ? Number(pax.get('uid')) : h.uid, type: h.type });
    pax = undefined;
  }
  return out;
}

describe('TarFilter', () => {
  const shift = (base: number) => (id: number) => id + base;

  it('shifts owners into a range, in header fields and pax records, and sums every member', async () => {
    const tar = tarOf([
      { name: './', type: '5' },
      { name: './home/u/', type: '5', uid: 1000 },
      { name: './home/u/f', content: 'hello', uid: 1000 },
      { name: './p', content: 'x', uid: 5, pax: { uid: '5', gid: '5', 'SCHILY.xattr.user.k': 'v' } },
      { name: './l', type: '2', linkname: 'home/u/f' },
      { name: './h', type: '1', linkname: './home/u/f' },
    ]);
    const { out, f } = await filter(tar, { policy: new TreePolicy(), mapId: shift(6553600), inputIsGuest: true });
    expect(members(out).map((m) => [m.name, m.uid])).toEqual([
      ['./', 6553600],
      ['./home/u/', 6554600],
      ['./home/u/f', 6554600],
      ['./p', 6553605],
      ['./l', 6553600],
      ['./h', 6553600],
    ]);
    const byPath = new Map(f.manifest.map((e) => [e[0], e]));
    expect(byPath.get('home/u/f')!.slice(1, 6)).toEqual(['file', 0o644, 1000, 0, 5]);
    expect(byPath.get('home/u/f')![9]).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(byPath.get('p')![10]).not.toBe('');
    expect(byPath.get('l')![7]).toBe('home/u/f');
    expect(out.subarray(-1024).every((b) => b === 0)).toBe(true);
  });

  it('stops at the first unsafe member before it is passed on', async () => {
    const tar = tarOf([
      { name: 'ok', content: 'fine' },
      { name: '../evil', content: 'x' },
      { name: 'after', content: 'y' },
    ]);
    const f = new TarFilter({ policy: new TreePolicy(), inputIsGuest: true });
    const seen: Buffer[] = [];
    await expect(
      pipeline(
        Readable.from([tar]),
        f,
        new Writable({
          write(c, _e, cb) {
            seen.push(c);
            cb();
          },
        }),
      ),
    ).rejects.toThrow(/contains '\.\.'/);
    expect(Buffer.concat(seen).includes(Buffer.from('evil'))).toBe(false);
  });

  it('refuses truncated and empty archives', async () => {
    const tar = tarOf([{ name: 'f', content: 'x'.repeat(2000) }], { end: false });
    await expect(filter(tar.subarray(0, 1200), { inputIsGuest: true })).rejects.toThrow(/truncated/);
    await expect(filter(Buffer.alloc(0), { inputIsGuest: true })).rejects.toThrow(/empty/);
  });

  it('captures and drops members as routed, and appends a trailer', async () => {
    const tar = tarOf([
      { name: 'meta.json', content: '{"a":1}' },
      { name: 'rootfs/', type: '5' },
      { name: 'skip', content: 'zz' },
    ]);
    let captured = '';
    const { out, f } = await filter(tar, {
      inputIsGuest: true,
      route: (m) => (m.path === 'meta.json' ? 'capture' : m.path === 'skip' ? 'drop' : 'forward'),
      onCapture: (_m, d) => {
        captured = d.toString();
      },
      trailer: () => tarOf([{ name: 'end', content: 'bye' }], { end: false }),
    });
    expect(captured).toBe('{"a":1}');
    expect(members(out).map((m) => m.name)).toEqual(['rootfs/', 'end']);
    expect(f.manifest.map((e) => e[0])).toEqual(['rootfs/']);
  });
});

describe('archives', () => {
  it('recognises compressed and plain tar by their first bytes', () => {
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0]))).toBe('zstd');
    expect(detectCompression(Buffer.from([0x1f, 0x8b, 8]))).toBe('gzip');
    expect(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]))).toBe('xz');
    expect(detectCompression(tarOf([{ name: 'a', content: 'b' }]))).toBe('none');
    expect(detectCompression(Buffer.from('hello world'))).toBeUndefined();
  });

  it('writes the id map tar uses to shift a range down, strays to nobody', () => {
    expect(idMapText({ base: 6553600, size: 65536 }, [6553633, 6553600, 99, 6553600])).toBe('+99 +65534\n+6553600 +0\n+6553633 +33\n');
    expect(idMapText({ base: 0, size: 65536 }, [0, 33, 70000])).toBe('+70000 +65534\n');
  });

  it('reads times as nanoseconds and hard links as their file', () => {
    expect(mtimeNs('1700000000')).toBe('1700000000000000000');
    expect(mtimeNs('1700000000.5')).toBe('1700000000500000000');
    const e = (p: string, type: ManifestEntry[1], link = '', sha = ''): ManifestEntry => [
      p,
      type,
      0o644,
      0,
      0,
      type === 'file' ? 3 : 0,
      '5',
      link,
      '',
      sha,
      '',
    ];
    const rows = rowsOf([
      e('rootfs/', 'dir'),
      e('rootfs/b', 'file', '', 'ab'),
      e('rootfs/a', 'hardlink', 'rootfs/b'),
      e('rootfs/c', 'file', '', 'cd'),
    ]);
    expect([...rows.keys()]).toEqual(['rootfs', 'rootfs/b', 'rootfs/a', 'rootfs/c']);
    expect(rows.get('rootfs/a')).toEqual(['rootfs/a', 'file', 0o644, 0, 0, 3, '5000000000', '', '', 'ab', 'rootfs/a']);
    expect(rows.get('rootfs/b')![10]).toBe('rootfs/a');
    expect(rows.get('rootfs/c')![10]).toBe('');
  });

  it('names the first path and field that differ from the manifest', () => {
    const r = (path: string, sha: string): ManifestRow => [path, 'file', 0o644, 0, 0, 1, '0', '', '', sha, ''];
    const m = (...rows: ManifestRow[]) => new Map(rows.map((x) => [x[0], x]));
    expect(() => compareManifest(m(r('a', '1')), m(r('a', '1')), 'x')).not.toThrow();
    expect(() => compareManifest(m(r('a', '1'), r('b', '2')), m(r('a', '1'), r('b', '3')), 'x')).toThrow(
      /b differs from the manifest \(sha256\)/,
    );
    expect(() => compareManifest(m(r('a', '1'), r('b', '2')), m(r('a', '1')), 'x')).toThrow(/b is in the manifest but not in the archive/);
    expect(() => compareManifest(m(r('a', '1')), m(r('a', '1'), r('z', '2')), 'x')).toThrow(/z is in the archive but not in the manifest/);
  });
});

describe('mounts and overlays', () => {
  const info = [
    '22 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
    '90 22 0:50 / /tmp/r/var/lib/vserver/guests/a\\040b/rootfs rw - overlay overlay rw,lowerdir=/x',
    '91 22 0:51 / /tmp/r/var/lib/vserver/guests/c/rootfs rw - overlay overlay rw,lowerdir=/y',
    '92 91 0:52 / /tmp/r/var/lib/vserver/guests/c/rootfs/proc rw - proc proc rw',
  ].join('\n');

  it('parses mountinfo, unescaping names, and lists mounts under a directory deepest first', () => {
    const m = parseMountinfo(info);
    expect(m[1]).toMatchObject({ mountPoint: '/tmp/r/var/lib/vserver/guests/a b/rootfs', fsType: 'overlay' });
    expect(mountsUnder('/tmp/r/var/lib/vserver/guests/c', m).map((x) => x.mountPoint)).toEqual([
      '/tmp/r/var/lib/vserver/guests/c/rootfs/proc',
      '/tmp/r/var/lib/vserver/guests/c/rootfs',
    ]);
    expect(mountsUnder('/tmp/r/var/lib/vserver/guests/c/root', m)).toEqual([]);
  });

  it('builds overlay options and refuses paths overlayfs would split', () => {
    expect(overlayOptions({ lower: '/t/rootfs', upper: '/g/upper', work: '/g/work', merged: '/g/rootfs' })).toBe(
      'lowerdir=/t/rootfs,upperdir=/g/upper,workdir=/g/work',
    );
    expect(() => overlayOptions({ lower: '/t,x/rootfs', upper: '/g/upper', work: '/g/work', merged: '/g/rootfs' })).toThrow(/cannot take/);
    expect(() => overlayOptions({ lower: '/t/rootfs', upper: '/g:1/upper', work: '/g/work', merged: '/g/rootfs' })).toThrow(/cannot take/);
  });
});

describe('Debian guest set-up', () => {
  const inittab = [
    'id:2:initdefault:',
    'si::sysinit:/etc/init.d/rcS',
    'l0:0:wait:/etc/init.d/rc 0',
    'pf::powerwait:/etc/init.d/powerfail start',
    'pn::powerfailnow:/etc/init.d/powerfail now',
    'po::powerokwait:/etc/init.d/powerfail stop',
    '1:2345:respawn:/sbin/getty --noclear 38400 tty1',
    '2:23:respawn:/sbin/getty 38400 tty2',
    '',
  ].join('\n');

  it('makes SIGPWR halt through runlevel 0 and removes the gettys, once', () => {
    const out = adjustInittab(inittab);
    expect(out).toMatch(/^p0::powerfail:\/sbin\/init 0$/m);
    expect(out).toMatch(/^#pf::powerwait/m);
    expect(out).toMatch(/^#1:2345:respawn:\/sbin\/getty/m);
    expect(out).not.toMatch(/^[0-9]:.*getty/m);
    expect(out).toMatch(/^l0:0:wait:\/etc\/init.d\/rc 0$/m);
    expect(adjustInittab(out)).toBe(out);
  });

  it('locks the root password only', () => {
    expect(lockRootPassword('root:$6$abc:19000::::::\nuser:$6$x:1::::::')).toBe('root:!$6$abc:19000::::::\nuser:$6$x:1::::::');
    expect(lockRootPassword('root:*:19000::::::')).toBe('root:*:19000::::::');
    expect(lockRootPassword('root:!x:1::::::')).toBe('root:!x:1::::::');
  });

  it("puts the guest's name on 127.0.1.1", () => {
    expect(hostsFor('web1.example.org')).toMatch(/^127\.0\.1\.1\tweb1\.example\.org web1$/m);
    const old = '127.0.0.1\tlocalhost\n127.0.1.1\told\n::1\tlocalhost\n';
    expect(hostsFor('new', old)).toBe('127.0.0.1\tlocalhost\n127.0.1.1\tnew\n::1\tlocalhost\n');
  });
});

describe('debootstrap progress', () => {
  it("reads debootstrap's installer protocol into stages and counts", () => {
    const p = new ProgressParser();
    const lines = [
      'P: 0 100 DOWNREL',
      'PF: Downloading Release file',
      'P: 100 100',
      'P: 100 100 DOWNREL',
      'PF: Downloading Release file',
      'P: 0 88 EXTRACTPKGS',
      'PF: Extracting packages',
      'I: EXTRACTING',
      'IA: libc6',
      'IF: Extracting %s...',
      'P: 40 88',
      'E: COULDNTDL',
      'EA: base-files',
      "EF: Couldn't download package %s",
    ];
    const got = lines.map((l) => p.feed(l)).filter((x) => x !== undefined);
    expect(got).toEqual([
      { stage: 'Downloading Release file', now: 0, end: 100, unit: 'steps' },
      { stage: 'Downloading Release file', now: 100, end: 100, unit: 'steps' },
      { stage: 'Extracting packages', now: 0, end: 88, unit: 'packages' },
      { stage: 'Extracting packages', now: 40, end: 88, unit: 'packages' },
    ]);
    expect(p.error).toBe("Couldn't download package base-files");
  });

  it('draws a bar of fixed width', () => {
    expect(progressBar({ stage: 'Unpacking required packages', now: 44, end: 88, unit: 'packages' }, 10)).toBe(
      '[#####.....]  50% (44/88 packages) Unpacking required packages',
    );
  });
});
