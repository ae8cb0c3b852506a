import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validate } from '../../src/guest/config.js';
import { HostNetworkSchema, InterfacesSchema, type InterfaceConfig } from '../../src/guest/net-schema.js';
import { collectClaims, configHolds, stateHolds, type OtherGuest } from '../../src/network/claims.js';
import { batchFailures, parseLinks } from '../../src/network/iproute.js';
import { aliasGuest, hostVethName, nftTableName, tableGuest } from '../../src/network/names.js';
import { PID_FROM_STATE, WIRE_SCRIPT, wireHook } from '../../src/network/hook.js';
import { allocate, planNetwork, type PlanInput } from '../../src/network/plan.js';
import {
  batchArg,
  bridgeSetup,
  deviceSetup,
  guestSetup,
  guestTeardown,
  hostTeardown,
  loopbackBridges,
  nftSetup,
} from '../../src/network/script.js';
import type { LinkFact, NetPlan } from '../../src/network/types.js';
import { VsError } from '../../src/util/errors.js';
import { formatIp, parseCidr } from '../../src/util/ip.js';

const FILE = '/etc/vserver/guests/web1.toml';
const TAG = 'vserver.abc123';
const host = validate('/etc/vserver/vserver.toml', HostNetworkSchema, { pool6: 'fd47::/64' });

const link = (name: string, extra: Partial<LinkFact> = {}): LinkFact => ({ name, up: true, mtu: 1500, addresses: [], ...extra });
const HOST_LINKS = [
  link('lo'),
  link('eth0', { addresses: ['192.0.2.10/24'] }),
  link('lan0'),
  link('nic0', { up: false, mtu: 9000, addresses: ['198.51.100.7/24'] }),
];

function input(interfaces: unknown[], extra: Partial<PlanInput> = {}): PlanInput {
  return {
    file: FILE,
    guest: 'web1',
    context: 100,
    instance: 'abc123',
    tag: TAG,
    netns: '/run/vserver/netns/web1',
    interfaces: validate(FILE, InterfacesSchema, interfaces) as InterfaceConfig[],
    host,
    links: HOST_LINKS,
    claims: collectClaims([], host),
    ...extra,
  };
}

function plan(interfaces: unknown[], extra: Partial<PlanInput> = {}): NetPlan {
  return planNetwork(input(interfaces, extra));
}

function refused(interfaces: unknown[], extra: Partial<PlanInput> = {}): VsError {
  try {
    plan(interfaces, extra);
  } catch (e) {
    expect(e).toBeInstanceOf(VsError);
    return e as VsError;
  }
  throw new Error('no error');
}

const other = (name: string, interfaces: unknown[], state?: NetPlan, active = false): OtherGuest => ({
  name,
  config: configHolds(validate(FILE, InterfacesSchema, interfaces) as InterfaceConfig[]),
  ...(state ? { state: stateHolds(state) } : {}),
  active,
});

describe('device names', () => {
  it('are stable, unique per installation, and fit IFNAMSIZ', () => {
    expect(hostVethName('', 100, 0)).toBe('vs100-0');
    expect(hostVethName('abc123', 100, 0)).toBe('vabc123-100-0');
    expect(hostVethName('abc123', 49151, 15).length).toBeLessThanOrEqual(15);
    expect(hostVethName('', 49151, 15).length).toBeLessThanOrEqual(15);
    expect(hostVethName('abc123', 100, 1)).not.toBe(hostVethName('abc124', 100, 1));
  });

  it("mark devices and tables so that one installation never takes another one's", () => {
    expect(aliasGuest(TAG, `${TAG}:web1`)).toBe('web1');
    expect(aliasGuest('vserver', `${TAG}:web1`)).toBeUndefined();
    expect(aliasGuest(TAG, TAG)).toBeUndefined(); // a bridge
    expect(tableGuest(TAG, nftTableName(TAG, 'web1'))).toBe('web1');
    expect(tableGuest('vserver', nftTableName(TAG, 'web1'))).toBeUndefined();
    expect(tableGuest('vserver', 'vserver.web1')).toBe('web1');
  });
});

describe('address allocation', () => {
  const pool = parseCidr('10.47.0.0/16')!;
  it('prefers pool + context, else the lowest free host address', () => {
    expect(formatIp(allocate(pool, 100, () => true)!)).toBe('10.47.0.100');
    expect(formatIp(allocate(pool, 100, (ip) => formatIp(ip) !== '10.47.0.100')!)).toBe('10.47.0.1');
    const small = parseCidr('10.9.0.0/29')!;
    expect(formatIp(allocate(small, 100, () => true)!)).toBe('10.9.0.1');
    expect(allocate(small, 100, () => false)).toBeUndefined();
  });
});

describe('network plan', () => {
  it('gives a bridged guest a veth, an address from the pool and a default route via the gateway', () => {
    const p = plan([{ mode: 'bridge' }]);
    expect(p.interfaces).toEqual([
      {
        index: 0,
        name: 'eth0',
        mode: 'bridge',
        hostDevice: 'vabc123-100-0',
        bridge: 'vsbr0',
        addresses: ['10.47.0.100/16'],
        gateways: ['10.47.0.1'],
        nat: false,
        ports: [],
        mtu: undefined,
      },
    ]);
    expect(p.bridges).toEqual([{ name: 'vsbr0', create: true, addAddresses: ['10.47.0.1/16', 'fd47::1/64'] }]);
    expect(p.nftTable).toBeUndefined();
    expect(p.netns).toBe('/run/vserver/netns/web1');
  });

  it('uses an existing bridge as it is, adding only the gateway addresses it lacks', () => {
    const br = link('vsbr0', { kind: 'bridge', addresses: ['10.47.0.1/16'] });
    expect(plan([{ mode: 'bridge' }], { links: [...HOST_LINKS, br] }).bridges).toEqual([
      { name: 'vsbr0', create: false, addAddresses: ['fd47::1/64'], up: true },
    ]);
  });

  it('does IPv6 alone, both families, and static addresses with or without prefix', () => {
    // address6 alone makes an IPv6-only interface; with neither, a bridge gets an IPv4 address
    expect(plan([{ mode: 'bridge', address6: 'auto' }]).interfaces[0]).toMatchObject({ addresses: ['fd47::64/64'], gateways: ['fd47::1'] });
    expect(plan([{ mode: 'bridge', address: '10.47.1.2', address6: 'fd47::beef' }]).interfaces[0]).toMatchObject({
      addresses: ['10.47.1.2/16', 'fd47::beef/64'],
      gateways: ['10.47.0.1', 'fd47::1'],
    });
  });

  it('names interfaces ethN by their place among the devices, and sets one default route per family', () => {
    const p = plan([
      { mode: 'bridge' },
      { mode: 'macvlan', parent: 'lan0', address: '192.168.5.9/24', gateway: '192.168.5.1' },
      { mode: 'phys', parent: 'nic0', name: 'wan', address6: '2001:db8::9/64', gateway6: '2001:db8::1' },
      { mode: 'ipvlan', parent: 'lan0', address: '192.168.5.10/24' },
    ]);
    expect(p.interfaces.map((i) => [i.name, i.gateways])).toEqual([
      ['eth0', ['10.47.0.1']],
      ['eth1', []],
      ['wan', ['2001:db8::1']],
      ['eth3', []],
    ]);
    expect(p.interfaces[2]!.restore).toEqual({ up: false, mtu: 9000, addresses: ['198.51.100.7/24'] });
  });

  it('makes a table for NAT and port forwards, and asks for forwarding per family', () => {
    const p = plan([{ mode: 'bridge', nat: true, ports: ['8080:80', '5353:53/udp'] }]);
    expect(p.nftTable).toBe(`${TAG}.web1`);
    expect(p.forwarding).toEqual({ v4: true, v6: false });
    expect(p.interfaces[0]!.ports).toEqual([
      { hostPort: 8080, guestPort: 80, proto: 'tcp' },
      { hostPort: 5353, guestPort: 53, proto: 'udp' },
    ]);
  });

  it('refuses addresses outside the bridge subnet, with another prefix, or special ones', () => {
    expect(refused([{ mode: 'bridge', address: '10.48.0.5/16' }]).message).toMatch(
      /interfaces\.0\.address: 10\.48\.0\.5 is outside the bridge's subnet 10\.47\.0\.0\/16 \(network\.pool in vserver\.toml\)/,
    );
    expect(refused([{ mode: 'bridge', address: '10.47.0.5/24' }]).message).toMatch(
      /has prefix \/24, but the bridge's subnet is 10\.47\.0\.0\/16/,
    );
    expect(refused([{ mode: 'bridge', address: '10.47.255.255' }]).message).toMatch(/broadcast address/);
    expect(refused([{ mode: 'bridge', address: '10.47.0.1' }])).toMatchObject({ code: 'ADDRESS_IN_USE' });
    expect(refused([{ mode: 'bridge', address: '10.47.0.1' }]).message).toMatch(/is the gateway address of bridge vsbr0/);
    expect(refused([{ mode: 'macvlan', parent: 'lan0', address: '192.168.5.9' }]).message).toMatch(/needs a prefix/);
    expect(refused([{ mode: 'macvlan', parent: 'lan0', address: '192.0.2.10/24' }]).message).toMatch(
      /is an address of the host \(on eth0\)/,
    );
  });

  it('refuses IPv6 auto without a pool', () => {
    const e = refused([{ mode: 'bridge', address6: 'auto' }], { host: validate('h', HostNetworkSchema, {}) });
    expect(e.message).toMatch(/network\.pool6 is not set/);
  });

  it('refuses an address another guest has, saying who and how', () => {
    const claims = collectClaims([other('db1', [{ mode: 'bridge', address: '10.47.0.100' }])], host);
    const e = refused([{ mode: 'bridge', address: '10.47.0.100' }], { claims });
    expect(e.code).toBe('ADDRESS_IN_USE');
    expect(e.message).toMatch(/address 10\.47\.0\.100 is configured for guest 'db1'/);
    // auto steps around it
    expect(plan([{ mode: 'bridge' }], { claims }).interfaces[0]!.addresses).toEqual(['10.47.0.1/16'.replace('.1/', '.2/')]);
  });

  it('counts what a dead guest still holds, and says to run gc', () => {
    const dead = plan([{ mode: 'bridge', address: '10.47.0.7', ports: ['8080:80'] }], { guest: 'old' });
    const claims = collectClaims([other('old', [], dead, false)], host);
    const e = refused([{ mode: 'bridge', address: '10.47.0.7' }], { claims });
    expect(e.message).toMatch(/still held by guest 'old', which stopped without cleaning up/);
    expect(e.hint).toMatch(/vserver gc/);
    expect(refused([{ mode: 'bridge', ports: ['8080:81'] }], { claims }).message).toMatch(
      /host port 8080\/tcp is still held by guest 'old'/,
    );
  });

  it('refuses a missing parent NIC and a NIC given to another guest', () => {
    expect(refused([{ mode: 'macvlan', parent: 'nope0', address: '192.168.5.9/24' }])).toMatchObject({ code: 'NIC_MISSING' });
    expect(refused([{ mode: 'phys', parent: 'nope0' }]).message).toMatch(/NIC nope0 does not exist on the host/);
    const running = plan([{ mode: 'phys', parent: 'nic0' }], { guest: 'db1' });
    const claims = collectClaims([other('db1', [{ mode: 'phys', parent: 'nic0' }], running, true)], host);
    const e = refused([{ mode: 'phys', parent: 'nic0' }], { claims, links: HOST_LINKS.filter((l) => l.name !== 'nic0') });
    expect(e).toMatchObject({ code: 'NIC_IN_USE' });
    expect(e.message).toMatch(/NIC nic0 is given to guest 'db1'/);
    expect(refused([{ mode: 'macvlan', parent: 'nic0' }], { claims }).code).toBe('NIC_IN_USE');
    // configured for another guest that is not running: still refused, one NIC belongs to one guest
    const cfgOnly = collectClaims([other('db2', [{ mode: 'phys', parent: 'nic0' }])], host);
    expect(refused([{ mode: 'phys', parent: 'nic0' }], { claims: cfgOnly }).message).toMatch(/configured as the NIC of guest 'db2'/);
    // a NIC shared by macvlan guests cannot be given away
    const shared = plan([{ mode: 'macvlan', parent: 'lan0' }], { guest: 'm1' });
    const c2 = collectClaims([other('m1', [{ mode: 'macvlan', parent: 'lan0' }], shared, true)], host);
    expect(refused([{ mode: 'phys', parent: 'lan0' }], { claims: c2 }).message).toMatch(
      /NIC lan0 is the parent of a macvlan interface of guest 'm1'/,
    );
    expect(plan([{ mode: 'macvlan', parent: 'lan0' }], { claims: c2 }).interfaces[0]!.parent).toBe('lan0');
  });

  it('refuses loopback, bridges and its own devices as NICs, and a bridge that is not one', () => {
    expect(refused([{ mode: 'phys', parent: 'lo' }]).message).toMatch(/lo cannot be given to a guest \(loopback\)/);
    const port = link('eth9', { master: 'br9' });
    expect(refused([{ mode: 'phys', parent: 'eth9' }], { links: [...HOST_LINKS, port] }).message).toMatch(/eth9 is a port of br9/);
    const br = link('br9', { kind: 'bridge' });
    expect(refused([{ mode: 'macvlan', parent: 'br9' }], { links: [...HOST_LINKS, br] }).message).toMatch(/a bridge/);
    expect(refused([{ mode: 'bridge', bridge: 'br7' }]).code).toBe('NIC_MISSING');
    expect(refused([{ mode: 'bridge', bridge: 'eth0', address: '192.0.2.99/24' }]).message).toMatch(/eth0 is not a bridge/);
    const veth = link('vabc123-100-0', { kind: 'veth', alias: `${TAG}:other` });
    expect(refused([{ mode: 'bridge' }], { links: [...HOST_LINKS, veth] }).code).toBe('ALREADY_EXISTS');
  });

  it('checks a config without the host: subnets and claims, but not NICs', () => {
    expect(plan([{ mode: 'phys', parent: 'nope0' }], { links: undefined }).interfaces[0]!.parent).toBe('nope0');
    expect(refused([{ mode: 'bridge', address: '10.48.0.5' }], { links: undefined }).code).toBe('CONFIG_INVALID');
  });
});

describe('scripts', () => {
  const p = plan([
    { mode: 'bridge', mtu: 1400, ports: ['8080:80'], nat: true, address: 'auto', address6: 'auto' },
    { mode: 'macvlan', parent: 'lan0', address: '192.168.5.9/24' },
    { mode: 'ipvlan', parent: 'lan0' },
    { mode: 'phys', parent: 'nic0', mtu: 1500 },
  ]);

  it('sets up the host side in one batch, creating devices straight in the namespace', () => {
    expect(bridgeSetup(p, TAG).map((l) => l.cmd)).toEqual([
      'link add name vsbr0 type bridge',
      `link set dev vsbr0 alias ${TAG}`,
      'address add 10.47.0.1/16 dev vsbr0',
      'address add fd47::1/64 dev vsbr0 nodad',
      'link set dev vsbr0 up',
    ]);
    expect(deviceSetup(p, TAG).map((l) => l.cmd)).toEqual([
      'link add name vabc123-100-0 mtu 1400 type veth peer name eth0 mtu 1400 netns /run/vserver/netns/web1',
      `link set dev vabc123-100-0 master vsbr0 addrgenmode none alias ${TAG}:web1 up`,
      'link set dev lan0 up',
      'link add link lan0 name eth1 netns /run/vserver/netns/web1 type macvlan mode bridge',
      'link set dev lan0 up',
      'link add link lan0 name eth2 netns /run/vserver/netns/web1 type ipvlan mode l2',
      'link set dev nic0 netns /run/vserver/netns/web1 name eth3',
    ]);
  });

  it('configures the guest side in one batch', () => {
    expect(guestSetup(p).map((l) => l.cmd)).toEqual([
      'link set dev lo up',
      'address add 10.47.0.100/16 dev eth0',
      'address add fd47::64/64 dev eth0 nodad',
      'link set dev eth0 up',
      'route add default via 10.47.0.1 dev eth0',
      'route add default via fd47::1 dev eth0',
      'address add 192.168.5.9/24 dev eth1',
      'link set dev eth1 up',
      'link set dev eth2 up',
      'link set dev eth3 mtu 1500',
      'link set dev eth3 up',
    ]);
  });

  it('gives NICs back under their own name to the namespace of the given process', () => {
    expect(guestTeardown(p, 4242).map((l) => l.cmd)).toEqual(['link set dev eth3 down', 'link set dev eth3 netns 4242 name nic0']);
  });

  it('removes only its own veths, restores a returned NIC, and drops a bridge it made once empty', () => {
    const links = [
      ...HOST_LINKS.filter((l) => l.name !== 'nic0'),
      link('nic0', { up: false, mtu: 1500 }),
      link('vsbr0', { kind: 'bridge', alias: TAG }),
      link('vabc123-100-0', { kind: 'veth', master: 'vsbr0', alias: `${TAG}:web1` }),
    ];
    const t = hostTeardown(p, links, TAG);
    expect(t.lines.map((l) => l.cmd)).toEqual([
      'link del dev vabc123-100-0',
      'link set dev nic0 mtu 9000',
      'address add 198.51.100.7/24 dev nic0',
      'link del dev vsbr0',
    ]);
    expect(t.removed).toEqual(['veth vabc123-100-0', 'bridge vsbr0 (no members left)']);
    // another guest still on the bridge, a bridge not made by vserver, a device someone else owns
    const busy = [...links, link('vabc123-101-0', { kind: 'veth', master: 'vsbr0', alias: `${TAG}:web2` })];
    expect(hostTeardown(p, busy, TAG).lines.map((l) => l.cmd)).not.toContain('link del dev vsbr0');
    // a guest that is starting has recorded that it will join the bridge
    expect(hostTeardown(p, links, TAG, new Set(['vsbr0'])).lines.map((l) => l.cmd)).not.toContain('link del dev vsbr0');
    const foreign = links.map((l) => (l.name === 'vsbr0' ? { ...l, alias: 'admin' } : l));
    expect(hostTeardown(p, foreign, TAG).lines.map((l) => l.cmd)).not.toContain('link del dev vsbr0');
    // made by a start that failed between creating the bridge and naming it as ours
    const unnamedBridge = links.map((l) => (l.name === 'vsbr0' ? { ...l, alias: undefined } : l));
    expect(hostTeardown(p, unnamedBridge, TAG).lines.map((l) => l.cmd)).toContain('link del dev vsbr0');
    expect(
      hostTeardown({ ...p, bridges: p.bridges.map((b) => ({ ...b, create: false })) }, unnamedBridge, TAG).lines.map((l) => l.cmd),
    ).not.toContain('link del dev vsbr0');
    const notOurs = links.map((l) => (l.name === 'vabc123-100-0' ? { ...l, alias: 'admin' } : l));
    expect(hostTeardown(p, notOurs, TAG).lines.map((l) => l.cmd)).not.toContain('link del dev vabc123-100-0');
    // made by a start that died between creating the veth and naming it as ours
    const unnamed = links.map((l) => (l.name === 'vabc123-100-0' ? { ...l, alias: undefined } : l));
    expect(hostTeardown(p, unnamed, TAG).lines.map((l) => l.cmd)).toContain('link del dev vabc123-100-0');
  });

  it('writes one nftables table with forwards for the host and outbound NAT', () => {
    const nft = nftSetup(p);
    expect(nft).toMatch(new RegExp(`^add table inet ${TAG}.web1\ndelete table inet ${TAG}.web1\ntable inet ${TAG}.web1 \\{`));
    expect(nft).toContain('type nat hook prerouting priority dstnat;');
    expect(nft).toContain('meta nfproto ipv4 fib daddr type local tcp dport 8080 dnat ip to 10.47.0.100:80');
    expect(nft).toContain('meta nfproto ipv6 fib daddr type local tcp dport 8080 dnat ip6 to [fd47::64]:80');
    expect(nft).toContain('type nat hook output priority -100;');
    expect(nft).toContain('ip saddr 10.47.0.100 ip daddr != 10.47.0.0/16 masquerade');
    expect(nft).toContain('ip6 saddr fd47::64 ip6 daddr != fd47::/64 masquerade');
    expect(nftSetup(plan([{ mode: 'bridge' }]))).toBe('');
  });

  it("lets the host's 127.0.0.1 reach IPv4 forwards on a bridge, and keeps the bridge's guests off the host's loopback", () => {
    const p = plan([{ mode: 'bridge', address: 'auto', address6: 'auto', ports: ['8080:80'] }]);
    expect(loopbackBridges(p)).toEqual(['vsbr0']);
    const nft = nftSetup(p);
    expect(nft).toContain('ip saddr 127.0.0.0/8 ip daddr 10.47.0.100 masquerade');
    expect(nft).toMatch(
      /chain loopback \{\n {4}type filter hook prerouting priority raw; policy accept;\n {4}iifname "vsbr0" ip daddr 127\.0\.0\.0\/8 drop\n/,
    );
    expect(nft).not.toContain('ip6 saddr ::1');
    // no forward, or only IPv6: no loopback route needed
    for (const p2 of [plan([{ mode: 'bridge', nat: true }]), plan([{ mode: 'bridge', address6: 'auto', ports: ['8080:80'] }])]) {
      expect(loopbackBridges(p2)).toEqual([]);
      expect(nftSetup(p2)).not.toContain('127.0.0.0/8');
    }
  });

  it('quotes paths for ip -batch and refuses what it cannot pass', () => {
    expect(batchArg('/run/vserver/netns/web1')).toBe('/run/vserver/netns/web1');
    expect(batchArg('/tmp/my root/x')).toBe('"/tmp/my root/x"');
    expect(() => batchArg('/tmp/a#b')).toThrow(/cannot be passed to ip/);
  });
});

describe('reading iproute2', () => {
  it('reads links, their kind, master, alias, state and global addresses', () => {
    const links = parseLinks(readFileSync(join(__dirname, '../fixtures/ip-address-show.json'), 'utf8'));
    const by = new Map(links.map((l) => [l.name, l]));
    expect(by.get('lo')).toMatchObject({ kind: undefined, up: true, addresses: [] });
    expect(by.get('vsbr0')).toMatchObject({ kind: 'bridge', alias: 'vserver.abc123', up: true, addresses: ['10.47.0.1/16', 'fd47::1/64'] });
    expect(by.get('vabc123-100-0')).toMatchObject({ kind: 'veth', master: 'vsbr0', alias: 'vserver.abc123:web1', mtu: 1500 });
    expect(by.get('nic0')).toMatchObject({ kind: 'veth', up: false, addresses: ['198.51.100.7/24'] });
  });

  it('names the line of a batch file that failed', () => {
    const host = [{ cmd: 'link add name v0 type veth peer name eth0 netns /n', what: 'interface eth0: bridge on vsbr0' }];
    const guest = [
      { cmd: 'link set dev lo up', what: 'loopback' },
      { cmd: 'address add 10.47.0.5/16 dev eth0', what: 'interface eth0: bridge on vsbr0' },
    ];
    expect(
      batchFailures('Error: ipv4: Address already assigned.\nCommand failed /b/net/guest.batch:2\n', [], {
        '/b/net/host.batch': host,
        '/b/net/guest.batch': guest,
      }),
    ).toEqual([`interface eth0: bridge on vsbr0: 'address add 10.47.0.5/16 dev eth0' failed: ipv4: Address already assigned.`]);
    expect(batchFailures('mount: /n: mount point does not exist.\n', [])).toEqual(['mount: /n: mount point does not exist.']);
  });

  it('counts a veth the kernel already took with its namespace as removed, and nothing else', () => {
    const lines = [
      { cmd: 'link del dev vb1', what: 'interface eth0: bridge on vsbr0', goneIsDone: true },
      { cmd: 'link del dev vsbr9', what: 'bridge vsbr9' },
    ];
    const gone = 'Cannot find device "vb1"\nCommand failed -:1\n';
    expect(batchFailures(gone, lines)).toEqual([]);
    // ip found the device, and the kernel took it before the removal came (the namespace going meanwhile)
    expect(batchFailures('RTNETLINK answers: No such device\nCommand failed -:1\n', lines)).toEqual([]);
    expect(batchFailures('RTNETLINK answers: No such device\nCommand failed -:2\n', lines)).toHaveLength(1);
    // control: the same failure of a line that must find its device is reported
    expect(batchFailures('Cannot find device "vsbr9"\nCommand failed -:2\n', lines)).toEqual([
      `bridge vsbr9: 'link del dev vsbr9' failed: Cannot find device "vsbr9"`,
    ]);
    // another failure of the veth's removal is reported
    expect(batchFailures('RTNETLINK answers: Operation not permitted\nCommand failed -:1\n', lines)).toHaveLength(1);
  });

  it('says which line of a batch failed, what it was for and why', () => {
    const lines = [
      { cmd: 'link add name a type bridge', what: 'bridge a' },
      { cmd: 'link del dev nonexist', what: 'interface eth0: bridge' },
    ];
    expect(batchFailures('Cannot find device "nonexist"\nCommand failed -:2\n', lines)).toEqual([
      `interface eth0: bridge: 'link del dev nonexist' failed: Cannot find device "nonexist"`,
    ]);
    expect(
      batchFailures('Error: Unknown device type.\nCommand failed -:1\nRTNETLINK answers: File exists\nCommand failed -:2\n', lines),
    ).toEqual([
      `bridge a: 'link add name a type bridge' failed: Unknown device type.`,
      `interface eth0: bridge: 'link del dev nonexist' failed: RTNETLINK answers: File exists`,
    ]);
  });
});

describe('the wiring hook', () => {
  it('passes every value as an argument to one constant script, with a PATH and a timeout', () => {
    const h = wireHook('/bin/sh', { netns: '/r/netns/g', hostBatch: '/b/h', guestBatch: '/b/g', errors: '/b/e' });
    expect(h.args).toEqual(['sh', '-c', WIRE_SCRIPT, 'sh', '/r/netns/g', '/b/h', '/b/g', '/b/e']);
    // no file to bind, and the user namespace's counts after the files
    const c = wireHook('/bin/sh', { hostBatch: '/b/h', guestBatch: '/b/g', errors: '/b/e' }, ['max_user_namespaces=9']);
    expect(c.args.slice(4)).toEqual(['', '/b/h', '/b/g', '/b/e', 'max_user_namespaces=9']);
    expect(h.env).toEqual([expect.stringMatching(/^PATH=.*\/sbin/)]);
    expect(h.timeout).toBeGreaterThan(0);
    expect(WIRE_SCRIPT).toContain('mount --bind "/proc/$pid/ns/net" "$1"');
    expect(WIRE_SCRIPT).toContain('nsenter --user="/proc/$pid/ns/user"');
    expect(WIRE_SCRIPT).not.toMatch(/\/r\/netns|\/b\//);
  });

  it("finds init's pid in the runtime's state, and fails rather than guess", () => {
    const pid = (state: string) => spawnSync('sh', ['-c', `${PID_FROM_STATE}\necho "$pid"`], { input: state, encoding: 'utf8' });
    expect(pid('{"ociVersion":"1.0.2","id":"g1","status":"creating","pid":4242,"bundle":"/b/1"}').stdout).toBe('4242\n');
    expect(pid('{"id": "g1", "pid": 77, "annotations": {"a": "9"}}\n').stdout).toBe('77\n');
    for (const bad of ['{"ociVersion":"1.0.2","id":"g1"}', '{"pid":1}', '']) {
      const r = pid(bad);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/no init pid/);
    }
  });
});

describe('cloneInterfaces', () => {
  it('gives a clone fresh bridge addresses and keeps nothing that belongs to the source', async () => {
    const { cloneInterfaces } = await import('../../src/network/clone.js');
    const r = cloneInterfaces([
      { mode: 'bridge', name: 'eth0', address: '10.47.0.9/16', address6: 'fd47::9', ports: ['8080:80'], nat: true },
      { mode: 'macvlan', name: 'eth1', parent: 'lan0', address: '192.168.5.9/24', gateway: '192.168.5.1' },
      { mode: 'phys', name: 'eth2', parent: 'nic7' },
      { mode: 'bridge', name: 'eth3' },
    ]);
    expect(r.interfaces).toEqual([
      { mode: 'bridge', name: 'eth0', address: 'auto', address6: 'auto', nat: true },
      { mode: 'macvlan', name: 'eth1', parent: 'lan0' },
      { mode: 'bridge', name: 'eth3' },
    ]);
    expect(r.notes).toEqual([
      'eth0 (bridge): the port forwards 8080:80 are left out; a host port belongs to one guest',
      "eth1 (macvlan) has no address yet: give it one with 'vserver config NAME interfaces ...'",
      'eth2 (phys) is left out: host NIC nic7 stays with the source guest',
    ]);
    expect(cloneInterfaces(undefined)).toEqual({ interfaces: undefined, notes: [] });
  });
});
