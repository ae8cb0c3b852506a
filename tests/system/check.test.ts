// vserver check on this machine: the lines a user sees, and a FAIL from a guest directory left open to every host user.
import { chmodSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

interface Item {
  item: string;
  status: 'OK' | 'WARN' | 'FAIL';
  detail: string;
  fix?: string;
}

describe.skipIf(!IS_ROOT)('vserver check', () => {
  const t = new TestRoot('check');
  afterAll(() => t.cleanup());

  const items = async () => {
    const r = await t.cli(['check', '--json']);
    return { code: r.code, items: (JSON.parse(r.stdout) as { items: Item[] }).items };
  };
  const find = (list: Item[], name: string) => list.find((i) => i.item === name);

  it('prints one line per item, and passes on this host', async () => {
    const r = await t.cli(['check']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    for (const l of [
      /^OK +namespaces +mnt uts ipc pid net user cgroup$/,
      /^OK +user namespaces +allowed, up to \d+$/,
      /^OK +seccomp +filter mode available$/,
      /^OK +overlayfs +works$/,
      /^OK +veth +works$/,
      /^OK +bridge +works$/,
      /^OK +cgroups +(v1|hybrid|v2), controllers cpu cpuset memory pids /,
      /^OK +runtime +(runc|crun) \S+ \(\//,
      /^OK +lxcfs +\/\S+$/,
      /^OK +debootstrap +\/\S+$/,
      /^(OK|WARN) +fs\.inotify\.max_user_instances +\d+: room for \d+ guests' shares of 32$/,
      /^(OK|WARN) +kernel\.pid_max +\d+: room for \d+ guests' shares of 4096$/,
      /^OK +net\.ipv4\.ping_group_range +.* each guest's network namespace gets its own$/,
      /^OK +id ranges +\d+ contexts free$/,
      /^(OK|WARN) +disk space +[\d.]+ GiB and \d+ inodes free under /,
      /^OK +permissions +no guests or templates yet$/,
    ]) {
      expect(
        lines.some((x) => l.test(x)),
        `${l} in\n${r.stdout}`,
      ).toBe(true);
    }
    expect(r.stdout).not.toMatch(/^FAIL/m);
  });

  it('fails on a guest directory that every host user can pass, and names the fix', async () => {
    await t.ok(['build', 'open']);
    const { idmap } = JSON.parse((await t.cli(['status', 'open', '--json'])).stdout);
    const dir = t.paths.guestDir('open');
    // control: the sealed directory is OK
    let r = await items();
    expect(find(r.items, 'permissions of guest open')).toMatchObject({ status: 'OK', detail: `${dir} 0:${idmap.base} 0710` });
    expect(r.code).toBe(0);

    chmodSync(dir, 0o711); // the layout before sealing: passable by all
    r = await items();
    expect(r.code).toBe(1);
    expect(find(r.items, 'permissions of guest open')).toEqual({
      item: 'permissions of guest open',
      status: 'FAIL',
      detail: `${dir} is 0:${idmap.base} 0711, not 0:${idmap.base} 0710: other host users can reach the tree`,
      fix: `chown 0:${idmap.base} ${dir} && chmod 0710 ${dir}`,
    });
    const text = await t.cli(['check']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^FAIL +permissions of guest open +.* other host users can reach the tree\n +fix: chown /m);

    await t.ok(['start', 'open']); // start seals the directory again
    await t.ok(['stop', 'open', '--timeout', '0']);
    expect(find((await items()).items, 'permissions of guest open')?.status).toBe('OK');
  });
});
