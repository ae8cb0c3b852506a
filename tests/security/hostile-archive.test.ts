// Hostile exports: an archive's config and tree are the author's, not the importer's. Each test
// is an attack as an archive author would make it, with a control where the protection is off.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';
import { withConfig } from '../helpers/exports.js';

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
    expect(r.stderr).toMatch(/left out:\n {2}privileged = true\n {2}security\.capabilities\.add = \["SYS_ADMIN","SYS_MODULE","SYS_RAWIO","NET_ADMIN"\]\n/);
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
    const cfg = 'context = 501\n[security]\nseccomp_profile = "/etc/passwd"\n[security.capabilities]\ndrop = ["NET_RAW"]\n'
      + '[[interfaces]]\nmode = "host"\n';
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
    expect(links.split('\n').filter((l) => l.includes(':')).map((l) => l.split(':')[0]!.trim())).toEqual(['lo']);
    await t.ok(['stop', 'hostnet', '--timeout', '0']);
  });
});
