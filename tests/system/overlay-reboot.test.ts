// An overlay guest after a reboot, when nothing mounted its merged tree yet: list, status and du
// say "not mounted" (du still counts its own files), and export mounts it rather than
// archiving the empty mount point.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

describe.skipIf(!IS_ROOT)('an overlay guest whose tree is not mounted (as after a reboot)', () => {
  const t = new TestRoot('ovlboot');
  afterAll(() => t.cleanup());
  const reboot = () => execFileSync('umount', [t.paths.rootfs('o')]);

  beforeAll(async () => {
    await t.ok(['build', 'seed']);
    await t.ok(['template', 'create', 'bb', '--from-guest', 'seed']);
    await t.ok(['build', 'o', '--template', 'bb']);
    writeFileSync(join(t.paths.rootfs('o'), 'root/mine'), 'x'.repeat(100_000));
    reboot();
    expect(existsSync(join(t.paths.rootfs('o'), 'etc'))).toBe(false);
  });

  it('list says so; a dir guest has nothing to mount', async () => {
    expect(await t.ok(['list'])).toMatch(/^o\s+\d+\s+stopped \(not mounted\)/m);
    expect(await t.ok(['list'])).toMatch(/^seed\s+\d+\s+stopped\s+-/m);
    const rows = JSON.parse(await t.ok(['list', '--json'])) as { name: string; mounted?: boolean }[];
    expect(rows.find((r) => r.name === 'o')!.mounted).toBe(false);
    expect(rows.find((r) => r.name === 'seed')!.mounted).toBeUndefined();
  });

  it('status says so, with what mounts it', async () => {
    const r = await t.cli(['status', 'o']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/tree\s+not mounted \(as after a reboot\): 'vserver mount o' mounts it/);
    expect((JSON.parse((await t.cli(['status', 'o', '--json'])).stdout) as { mounted: boolean }).mounted).toBe(false);
  });

  it("du counts the guest's own files all the same, and says the tree is not mounted", async () => {
    expect(await t.ok(['du', 'o'])).toMatch(/^o\s+overlay \(not mounted\)/m);
    const [row] = JSON.parse(await t.ok(['du', 'o', '--json'])) as { bytes: number; mounted: boolean; sharedBytes: number }[];
    expect(row!.mounted).toBe(false);
    expect(row!.bytes).toBeGreaterThan(100_000);
    expect(row!.sharedBytes).toBeGreaterThan(500_000);
  });

  it('export mounts it and archives the whole merged tree', async () => {
    const file = join(t.root, 'o.tar.zst');
    await t.ok(['export', 'o', file]);
    const names = execFileSync('sh', ['-c', 'zstd -dcq "$1" | tar --ignore-zeros -t', 'sh', file]).toString().split('\n');
    expect(names).toContain('rootfs/root/mine');
    expect(names).toContain('rootfs/bin/busybox');
    const r = await t.cli(['status', 'o']);
    expect(r.stdout).toMatch(/tree\s+mounted\n/);
    expect(await t.ok(['list'])).toMatch(/^o\s+\d+\s+stopped\s+-/m);
  });
});
