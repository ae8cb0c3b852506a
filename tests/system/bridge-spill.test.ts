// A full bridge of the pool: with a small port cap, guests spill to the next bridges of the pool,
// reach each other and the host across them, and the bridges go with their last guests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';
import { cleanUpNetworkTest, TestNetns } from '../helpers/netns.js';

interface Listed {
  name: string;
  state: string;
  interfaces?: { addresses: string[] }[];
}

describe.skipIf(!IS_ROOT)('a pool of bridges', () => {
  const host = new TestNetns('spill');
  const t = new TestRoot('spill', { netns: host.name });
  const names = ['s1', 's2', 's3', 's4'];

  beforeAll(async () => {
    await host.create();
    mkdirSync(t.paths.etc, { recursive: true });
    // three ports: two guests on the first bridge (one port kept for the next), one on each after it
    writeFileSync(t.paths.hostConfig, '[network]\npool = "10.48.0.0/24"\nbridge_ports = 3\n');
    for (const g of names) {
      await t.ok(['build', g]);
      await t.ok(['config', g, 'interfaces', '[{mode="bridge"}]']);
    }
  }, 300_000);

  afterAll(() => cleanUpNetworkTest(t, [host]));

  const members = async (bridge: string) =>
    (JSON.parse(await host.ip('-json', 'link', 'show', 'master', bridge)) as { ifname: string }[]).map((l) => l.ifname).sort();

  it('spills guests over to the next bridges when one is full, all on one subnet', async () => {
    for (const g of names) await t.ok(['start', g]);
    expect(await members('vsbr0')).toHaveLength(3); // two guests and the link to vsbr0-1
    expect(await members('vsbr0-1')).toHaveLength(3); // its link back, a guest, the link on to vsbr0-2
    expect(await members('vsbr0-2')).toHaveLength(2);
    const list = JSON.parse(await t.ok(['list', '--json'])) as Listed[];
    const addrs = list.map((g) => g.interfaces![0]!.addresses[0]!.split('/')[0]!);
    expect(new Set(addrs).size).toBe(4);
    // the host reaches every guest, and the last guest reaches the first, across the chain
    for (const a of addrs) expect((await host.exec('busybox', ['ping', '-c', '1', '-W', '5', a])).code).toBe(0);
    const r = await t.cli(['exec', 's4', '--', 'ping', '-c', '1', '-W', '5', addrs[0]!]);
    expect(r.code).toBe(0);
  }, 300_000);

  it('takes a spill bridge down with its last guest, and keeps the ones still in use', async () => {
    await t.ok(['stop', 's4', '--timeout', '0']);
    expect((await host.links()).filter((l) => l.startsWith('vsbr0'))).toEqual(['vsbr0', 'vsbr0-1', 'vsbr0-1d', 'vsbr0-1u']);
    await t.ok(['stop', 's3', '--timeout', '0']);
    expect((await host.links()).filter((l) => l.startsWith('vsbr0'))).toEqual(['vsbr0']);
    // the port s3 held is free again: the next start takes vsbr0-1 anew
    await t.ok(['start', 's3']);
    expect(await members('vsbr0-1')).toHaveLength(2);
  }, 300_000);

  it('leaves nothing behind', async () => {
    await t.ok(['stop', '--all', '--timeout', '0']);
    expect(await host.links()).toEqual(['lo']);
    expect(await t.leaks()).toEqual([]);
  }, 120_000);
});
