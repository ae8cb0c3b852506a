// Host tools against a hostile guest tree: links planted by guest root must not redirect a host
// read or write, and an unprivileged guest still runs its services with its own ids.
import { lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

/** Every (uid, gid) that owns something in the tree, without following links. */
function owners(root: string): Set<string> {
  const seen = new Set<string>();
  const walk = (p: string) => {
    const st = lstatSync(p);
    seen.add(`${st.uid}:${st.gid}`);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  walk(root);
  return seen;
}

describe.skipIf(!IS_ROOT)('unprivileged guests and host tools', () => {
  const t = new TestRoot('tools');
  const outside = join(t.root, 'outside');
  beforeAll(() => {
    mkdirSync(outside);
    writeFileSync(join(outside, 'precious'), 'host data\n');
  });
  afterAll(() => t.cleanup());

  it('builds a tree owned by the guest range, which the guest sees as its root', async () => {
    await t.ok(['build', 'own1', '--context', '300']);
    const base = 300 * 65536;
    for (const o of owners(t.paths.rootfs('own1'))) {
      const [uid, gid] = o.split(':').map(Number) as [number, number];
      expect(uid).toBeGreaterThanOrEqual(base);
      expect(uid).toBeLessThan(base + 65536);
      expect(gid).toBeGreaterThanOrEqual(base);
    }
    await t.ok(['start', 'own1']);
    expect((await t.ok(['exec', 'own1', '--', 'stat', '-c', '%u:%g', '/etc/passwd'])).trim()).toBe('0:0');
    expect((await t.ok(['exec', 'own1', '--', 'id', '-u'])).trim()).toBe('0');
    // a file guest root makes lands with the guest's ids on the host
    await t.ok(['exec', 'own1', '--', 'sh', '-c', 'echo hi > /root/made-inside; chown 33:33 /root/made-inside']);
    const st = statSync(join(t.paths.rootfs('own1'), 'root/made-inside'));
    expect([st.uid, st.gid]).toEqual([base + 33, base + 33]);
  });

  it('runs busybox init and httpd as an unprivileged guest', async () => {
    await t.ok(['exec', 'own1', '--', 'sh', '-c', 'echo served-by-own1 > /www/index.html; httpd -p 80 -h /www']);
    const page = await t.ok(['exec', 'own1', '--', 'wget', '-q', '-O', '-', 'http://127.0.0.1/']);
    expect(page.trim()).toBe('served-by-own1');
    const ps = await t.ok(['exec', 'own1', '--', 'ps', '-o', 'pid,user,comm']);
    expect(ps).toMatch(/^\s*1 root\s+init$/m);
    expect(ps).toMatch(/httpd/);
    // from the host, those processes run as the unprivileged id
    const { pid } = JSON.parse(await t.ok(['status', 'own1', '--json']));
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(new RegExp(`^Uid:\\s+${300 * 65536}\\s`, 'm'));
  });

  it('re-owns the tree when the context changes, without following planted links', async () => {
    await t.ok([
      'exec',
      'own1',
      '--',
      'sh',
      '-c',
      `ln -s ${outside}/precious /etc/evil-link; ln -s ${outside} /evil-dir; ln /etc/passwd /root/hard`,
    ]);
    await t.ok(['stop', 'own1', '--timeout', '0']);
    const before = statSync(join(outside, 'precious'));
    await t.ok(['config', 'own1', 'context', '301']);
    const after = statSync(join(outside, 'precious'));
    expect([after.uid, after.gid, after.mode]).toEqual([before.uid, before.gid, before.mode]);
    expect(readFileSync(join(outside, 'precious'), 'utf8')).toBe('host data\n');
    expect(lstatSync(join(t.paths.rootfs('own1'), 'etc/evil-link')).uid).toBe(301 * 65536);
    expect(statSync(join(t.paths.rootfs('own1'), 'etc/passwd')).uid).toBe(301 * 65536);
    await t.ok(['start', 'own1']);
    expect((await t.ok(['exec', 'own1', '--', 'stat', '-c', '%u', '/etc/passwd'])).trim()).toBe('0');
    const r = await t.cli(['config', 'own1', 'context', '302']);
    expect(r.code).toBe(6); // running: refused, nothing changed
    expect((await t.ok(['config', 'own1', 'context'])).trim()).toBe('301');
  });

  it('switches a guest to privileged and back by re-owning its tree', async () => {
    await t.ok(['stop', 'own1', '--timeout', '0']);
    await t.ok(['config', 'own1', 'privileged', 'true']);
    expect(statSync(join(t.paths.rootfs('own1'), 'etc/passwd')).uid).toBe(0);
    await t.ok(['config', 'own1', 'privileged', 'false']);
    expect(statSync(join(t.paths.rootfs('own1'), 'etc/passwd')).uid).toBe(301 * 65536);
  });

  it('deletes only the guest tree, whatever links guest root planted in it', async () => {
    await t.ok(['delete', 'own1']);
    expect(readFileSync(join(outside, 'precious'), 'utf8')).toBe('host data\n');
    expect(readdirSync(outside)).toEqual(['precious']);
    expect(await t.leaks()).toEqual([]);
  });

  it('refuses an unknown capability name, and applies added and dropped ones', async () => {
    await t.ok(['build', 'caps']);
    const bad = await t.cli(['config', 'caps', 'security.capabilities.add', '["FLY"]']);
    expect(bad.code).toBe(10);
    expect(bad.stderr).toMatch(/"FLY", which is not a Linux capability/);
    await t.ok(['config', 'caps', 'security.capabilities', '{ add = ["NET_RAW"], drop = ["CHOWN"] }']);
    await t.ok(['start', 'caps']);
    const status = await t.ok(['exec', 'caps', '--', 'cat', '/proc/self/status']);
    const bnd = BigInt(`0x${/^CapBnd:\s+([0-9a-f]+)/m.exec(status)![1]}`);
    expect(bnd & (1n << 13n)).toBe(1n << 13n); // CAP_NET_RAW
    expect(bnd & 1n).toBe(0n); // CAP_CHOWN
    expect((await t.cli(['exec', 'caps', '--', 'chown', '5', '/tmp'])).code).not.toBe(0);
    await t.ok(['delete', '--force', 'caps']);
  });

  it('uses a custom seccomp profile named in the config', async () => {
    await t.ok(['build', 'sc']);
    const profile = join(t.root, 'deny-mkdir.json');
    writeFileSync(
      profile,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
      }),
    );
    await t.ok(['config', 'sc', 'security.seccomp_profile', JSON.stringify(profile)]);
    await t.ok(['start', 'sc']);
    const r = await t.cli(['exec', 'sc', '--', 'mkdir', '/tmp/x']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Operation not permitted/);
    await t.ok(['delete', '--force', 'sc']);
  });
});

describe.skipIf(!IS_ROOT)("the host's /etc files against planted links", () => {
  const t = new TestRoot('etcl');
  afterAll(() => t.cleanup());

  it("gives the guest hostname, hosts and resolv.conf as its own files, and never writes through the guest's links", async () => {
    const guarded = ['/etc/shadow', '/etc/passwd', '/etc/hosts', '/etc/hostname'];
    const before = guarded.map((f) => readFileSync(f, 'utf8'));
    await t.ok(['build', 'etc1', '--hostname', 'etc1.example.org']);
    await t.ok(['start', 'etc1']);
    for (const f of ['hostname', 'hosts', 'resolv.conf']) {
      expect((await t.ok(['exec', 'etc1', '--', 'stat', '-c', '%u:%g', `/etc/${f}`])).trim()).toBe('0:0');
    }
    // while it runs, guest root cannot replace the files: they are read-only mounts
    for (const f of ['hostname', 'hosts', 'resolv.conf']) {
      const r = await t.cli(['exec', 'etc1', '--', 'rm', '-f', `/etc/${f}`]);
      expect(r.code, `rm /etc/${f}`).not.toBe(0);
      expect(r.stderr).toMatch(/resource busy|Read-only file system/);
    }
    const rootfs = t.paths.rootfs('etc1');
    // so the links are planted in the tree while it is stopped, as guest root could leave them
    await t.ok(['stop', 'etc1', '--timeout', '0']);
    for (const [f, to] of [
      ['hostname', '/etc/shadow'],
      ['hosts', '../../../../../../../../etc/passwd'],
    ] as const) {
      try {
        rmSync(join(rootfs, 'etc', f));
      } catch {
        /* not there */
      }
      symlinkSync(to, join(rootfs, 'etc', f));
    }
    await t.ok(['start', 'etc1']);
    expect((await t.ok(['exec', 'etc1', '--', 'hostname'])).trim()).toBe('etc1.example.org');
    expect(await t.ok(['exec', 'etc1', '--', 'cat', '/etc/hostname'])).toBe('etc1.example.org\n');
    await t.ok(['restart', 'etc1']);
    expect(guarded.map((f) => readFileSync(f, 'utf8'))).toEqual(before);
    // a directory swapped for a link: /etc -> /
    await t.ok(['stop', 'etc1', '--timeout', '0']);
    renameSync(join(rootfs, 'etc'), join(rootfs, 'etc.real'));
    symlinkSync('/', join(rootfs, 'etc'));
    // the runtime resolves the mount targets inside the guest's root: /etc/hostname lands on /hostname
    await t.ok(['start', 'etc1']);
    expect(await t.ok(['exec', 'etc1', '--', 'cat', '/etc/hostname'])).toBe('etc1.example.org\n');
    expect(guarded.map((f) => readFileSync(f, 'utf8'))).toEqual(before);
    await t.ok(['delete', '--force', 'etc1']);
    expect(guarded.map((f) => readFileSync(f, 'utf8'))).toEqual(before);
  });
});
