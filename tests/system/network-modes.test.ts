// macvlan, ipvlan, phys, host and none, each inside network namespaces the test made: one plays
// the host, another the LAN behind the host's NICs.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';
import { guestGet, httpGuest, until } from '../helpers/guests.js';
import { cleanUpNetworkTest, kernelHas, TestNetns } from '../helpers/netns.js';
import { PARTIAL } from '../helpers/skip-report.js';

/** Interface names inside a guest, from busybox's `ip -o link`. */
async function guestLinks(t: TestRoot, guest: string): Promise<string[]> {
  const out = await t.ok(['exec', guest, '--', 'ip', '-o', 'link']);
  return out
    .trim()
    .split('\n')
    .map((l) => l.split(':')[1]!.trim().split('@')[0]!)
    .sort();
}

describe.skipIf(!IS_ROOT)('guests sharing a NIC of the host', () => {
  const host = new TestNetns('mv');
  const lan = new TestNetns('mvlan');
  const t = new TestRoot('mv', { netns: host.name });
  let server: ChildProcess | undefined;

  beforeAll(async () => {
    await host.create();
    await lan.create();
    // lan0 is the host's NIC; its other end is the LAN, where a server answers at 192.168.77.1
    await host.vethTo(lan, 'lan0', 'lan0p', undefined, '192.168.77.1/24');
    server = await lan.serve(80, 'lan');
  });

  afterAll(() => cleanUpNetworkTest(t, [host, lan], [server]));

  it('gives macvlan guests their own addresses on the NIC: they reach each other and the LAN', async () => {
    for (const [g, a] of [
      ['mv1', '192.168.77.11/24'],
      ['mv2', '192.168.77.12/24'],
    ] as const) {
      await httpGuest(t, g);
      await t.ok(['config', g, 'interfaces', `[{mode="macvlan", parent="lan0", address="${a}", gateway="192.168.77.1"}]`]);
      const info = JSON.parse(await t.ok(['start', g, '--json']));
      expect(info.interfaces).toEqual([{ name: 'eth0', mode: 'macvlan', addresses: [a], gateways: ['192.168.77.1'], parent: 'lan0' }]);
      await until(async () => (await guestGet(t, g, '127.0.0.1')).includes(g), `httpd in ${g}`);
    }
    expect(await guestGet(t, 'mv1', '192.168.77.12')).toContain('mv2');
    expect(await guestGet(t, 'mv2', '192.168.77.11')).toContain('mv1');
    expect(await guestGet(t, 'mv1', '192.168.77.1')).toMatch(/lan 192\.168\.77\.11$/);
    expect(await lan.get('http://192.168.77.12/')).toBe('mv2\n');
    expect(await host.links()).toEqual(['lan0', 'lo']); // nothing of the guests' on the host side
    await t.ok(['stop', 'mv1', '--timeout', '0']);
    await t.ok(['stop', 'mv2', '--timeout', '0']);
    expect(await t.leaks()).toEqual([]);
  });

  it('refuses a parent NIC the host does not have, before changing anything', async () => {
    await t.ok(['config', 'mv1', 'interfaces', '[{mode="macvlan", parent="nope0", address="192.168.77.11/24"}]']);
    const r = await t.cli(['start', 'mv1']);
    expect(r.code).toBe(22);
    expect(r.stderr).toMatch(/interfaces\.0: parent NIC nope0 does not exist on the host/);
    expect(await host.links()).toEqual(['lan0', 'lo']);
    expect(await t.leaks()).toEqual([]);
  });

  it('gives ipvlan guests their own addresses on the NIC, or says the kernel cannot', async (ctx) => {
    for (const [g, a] of [
      ['iv1', '192.168.77.21/24'],
      ['iv2', '192.168.77.22/24'],
    ] as const) {
      await httpGuest(t, g);
      await t.ok(['config', g, 'interfaces', `[{mode="ipvlan", parent="lan0", address="${a}"}]`]);
    }
    if (!(await kernelHas('ipvlan'))) {
      const r = await t.cli(['start', 'iv1']);
      expect(r.code).toBe(24);
      expect(r.stderr).toMatch(/interface eth0: ipvlan \(lan0\): .* failed: Unknown device type/);
      expect(r.stderr).toMatch(/CONFIG_IPVLAN/);
      expect(await host.links()).toEqual(['lan0', 'lo']);
      expect(await t.leaks()).toEqual([]);
      await ctx.annotate('this kernel has no ipvlan support: checked the error instead of traffic', PARTIAL);
      return;
    }
    for (const g of ['iv1', 'iv2']) {
      await t.ok(['start', g]);
      await until(async () => (await guestGet(t, g, '127.0.0.1')).includes(g), `httpd in ${g}`);
    }
    expect(await guestGet(t, 'iv1', '192.168.77.22')).toContain('iv2');
    expect(await guestGet(t, 'iv2', '192.168.77.1')).toMatch(/lan 192\.168\.77\.22$/);
    for (const g of ['iv1', 'iv2']) await t.ok(['stop', g, '--timeout', '0']);
    expect(await t.leaks()).toEqual([]);
  });
});

describe.skipIf(!IS_ROOT)('a NIC given to one guest (phys)', () => {
  const host = new TestNetns('ph');
  const lan = new TestNetns('phlan');
  const t = new TestRoot('ph', { netns: host.name });
  let server: ChildProcess | undefined;

  /** nic0 as the host has it: present, up, with its address. */
  async function nicHome(): Promise<void> {
    const nic = await host.link('nic0');
    expect(nic?.flags).toContain('UP');
    expect(nic?.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toContain('192.168.78.5/24');
  }

  beforeAll(async () => {
    await host.create();
    await lan.create();
    await host.vethTo(lan, 'nic0', 'nic0p', '192.168.78.5/24', '192.168.78.1/24');
    server = await lan.serve(80, 'lan');
    await httpGuest(t, 'p1');
    await t.ok(['config', 'p1', 'interfaces', '[{mode="phys", parent="nic0", address="192.168.78.10/24"}]']);
    await t.ok(['build', 'p2']);
  });

  afterAll(() => cleanUpNetworkTest(t, [host, lan], [server]));

  it('moves the NIC into the guest, which uses it, and gives it back on stop', async () => {
    const info = JSON.parse(await t.ok(['start', 'p1', '--json']));
    expect(info.interfaces).toEqual([{ name: 'eth0', mode: 'phys', addresses: ['192.168.78.10/24'], gateways: [], parent: 'nic0' }]);
    expect(await host.links()).toEqual(['lo']);
    expect(await guestLinks(t, 'p1')).toEqual(['eth0', 'lo']);
    expect(await guestGet(t, 'p1', '192.168.78.1')).toMatch(/lan 192\.168\.78\.10$/);
    await t.ok(['stop', 'p1', '--timeout', '0']);
    await nicHome();
    expect(await t.leaks()).toEqual([]);
  });

  it('refuses the NIC to a second guest, when configured and at start', async () => {
    await t.ok(['start', 'p1']);
    const r = await t.cli(['config', 'p2', 'interfaces', '[{mode="phys", parent="nic0"}]']);
    expect(r.code).toBe(23);
    expect(r.stderr).toMatch(/NIC nic0 is given to guest 'p1'/);
    const file = t.paths.guestConfig('p2');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n[[interfaces]]\nmode = "phys"\nparent = "nic0"\n`);
    const s = await t.cli(['start', 'p2']);
    expect(s.code).toBe(23);
    expect(s.stderr).toMatch(/NIC nic0 is given to guest 'p1'/);
    expect((await t.cli(['running', 'p2'])).code).toBe(1);
    await t.ok(['stop', 'p1', '--timeout', '0']);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\n\[\[interfaces\]\][\s\S]*$/, '\n'));
  });

  it('gets the NIC back from a guest whose init was killed: by gc, or by the next start', async () => {
    for (const cleanup of ['gc', 'start'] as const) {
      await t.ok(['start', 'p1']);
      const { pid } = JSON.parse(await t.ok(['status', 'p1', '--json']));
      process.kill(pid, 'SIGKILL');
      await until(async () => (await t.cli(['running', 'p1'])).code === 1, 'p1 to die');
      // the namespace outlives the guest, so that a virtual NIC is not destroyed with it
      expect(await host.links()).toEqual(['lo']);
      if (cleanup === 'gc') {
        expect(await t.ok(['gc'])).toMatch(/^p1: removed .*NIC nic0 given back to the host, network namespace$/m);
        await nicHome();
      } else {
        await t.ok(['start', 'p1']);
        expect(await guestLinks(t, 'p1')).toEqual(['eth0', 'lo']);
        await t.ok(['stop', 'p1', '--timeout', '0']);
        await nicHome();
      }
    }
    expect(await t.leaks()).toEqual([]);
  });
});

describe.skipIf(!IS_ROOT)('host and none', () => {
  const host = new TestNetns('hn');
  const t = new TestRoot('hn', { netns: host.name });

  beforeAll(async () => {
    await host.create();
    await host.ip('link', 'add', 'name', 'marker0', 'type', 'veth', 'peer', 'name', 'marker1');
  });

  afterAll(() => cleanUpNetworkTest(t, [host]));

  it("lets a host guest see the host's interfaces, and says that it is not isolated", async () => {
    await t.ok(['build', 'h1']);
    await t.ok(['config', 'h1', 'interfaces', '[{mode="host"}]']);
    await t.ok(['start', 'h1']);
    expect(await guestLinks(t, 'h1')).toEqual(['lo', 'marker0', 'marker1']);
    expect(await t.ok(['status', 'h1'])).toMatch(/network\s+host \(shares the host's network stack: no network isolation\)/);
    expect(await t.ok(['exec', 'h1', '--', 'cat', '/sys/class/net/marker0/mtu'])).toBe('1500\n');
    // no network namespace of its own; its /sys is a sysfs of the host's network the host mounted
    const spec = JSON.parse(readFileSync(join(t.paths.bundle('h1'), 'config.json'), 'utf8'));
    expect(spec.linux.namespaces.map((n: { type: string }) => n.type)).not.toContain('network');
    expect(spec.mounts.find((m: { destination: string }) => m.destination === '/sys')).toMatchObject({
      type: 'bind',
      source: t.paths.sysfs('h1'),
    });
    expect(JSON.parse(await t.ok(['status', 'h1', '--json'])).interfaces).toEqual([{ mode: 'host', addresses: [] }]);
    await t.ok(['stop', 'h1', '--timeout', '0']);
  });

  it('gives a guest without interfaces, or with mode none, loopback only', async () => {
    await t.ok(['build', 'n1']);
    await t.ok(['build', 'n2']);
    await t.ok(['config', 'n2', 'interfaces', '[{mode="none"}]']);
    for (const g of ['n1', 'n2']) {
      await t.ok(['start', g]);
      expect(await guestLinks(t, g)).toEqual(['lo']);
      expect(await t.ok(['status', g])).toMatch(/network\s+none \(loopback only\)/);
      await t.ok(['stop', g, '--timeout', '0']);
    }
    expect(await host.links()).toEqual(['lo', 'marker0', 'marker1']);
    expect(await t.leaks()).toEqual([]);
  });
});
