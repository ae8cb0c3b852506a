// A pool of bridges: the choice of bridge when one is full, the lines that make and join a spill
// bridge, and its removal with its last guest.
import { describe, expect, it } from 'vitest';
import { validate } from '../../src/guest/config.js';
import { BRIDGE_PORTS_MAX, HostNetworkSchema, InterfacesSchema, type InterfaceConfig } from '../../src/guest/net-schema.js';
import { collectClaims } from '../../src/network/claims.js';
import { linkNames } from '../../src/network/iproute.js';
import { planNetwork, type PlanInput } from '../../src/network/plan.js';
import { bridgeSetup, emptyBridges, hostTeardown } from '../../src/network/script.js';
import { chooseBridge, spillBridge, spillIndex } from '../../src/network/spill.js';
import type { LinkFact } from '../../src/network/types.js';
import { VsError } from '../../src/util/errors.js';

const TAG = 'vserver.abc123';
const FILE = '/etc/vserver/guests/web1.toml';
const link = (name: string, extra: Partial<LinkFact> = {}): LinkFact => ({ name, up: true, mtu: 1500, addresses: [], ...extra });
const bridge = (name: string, addresses: string[] = []) => link(name, { kind: 'bridge', alias: TAG, addresses });
const uplink = (s: ReturnType<typeof spillBridge>) => [
  link(s.up, { kind: 'veth', master: s.parent, alias: `${TAG}/uplink` }),
  link(s.down, { kind: 'veth', master: s.name, alias: `${TAG}/uplink` }),
];

function input(cap: number, guests: [string, number][], links: LinkFact[]): PlanInput {
  const host = validate('/etc/vserver/vserver.toml', HostNetworkSchema, { bridge_ports: cap });
  return {
    file: FILE,
    guest: 'web1',
    context: 100,
    instance: 'abc123',
    tag: TAG,
    netns: '/run/vserver/netns/web1',
    interfaces: validate(FILE, InterfacesSchema, [{ mode: 'bridge' }]) as InterfaceConfig[],
    host,
    links,
    claims: collectClaims([], host),
    bridgeGuests: new Map(guests),
  };
}

describe('choosing the bridge of the pool', () => {
  it('fills the first bridge, keeping one port for the next, then spills along the chain', () => {
    expect(chooseBridge('vsbr0', 4, new Map())).toEqual({ name: 'vsbr0' });
    expect(chooseBridge('vsbr0', 4, new Map([['vsbr0', 2]]))).toEqual({ name: 'vsbr0' });
    expect(chooseBridge('vsbr0', 4, new Map([['vsbr0', 3]]))).toEqual({ name: 'vsbr0-1', spill: spillBridge('vsbr0', 1) });
    // a spill bridge also holds its link to the bridge before it
    expect(
      chooseBridge(
        'vsbr0',
        4,
        new Map([
          ['vsbr0', 3],
          ['vsbr0-1', 1],
        ]),
      ).name,
    ).toBe('vsbr0-1');
    expect(
      chooseBridge(
        'vsbr0',
        4,
        new Map([
          ['vsbr0', 3],
          ['vsbr0-1', 2],
        ]),
      ),
    ).toEqual({ name: 'vsbr0-2', spill: spillBridge('vsbr0', 2) });
    // a guest that left the first bridge frees its port for the next start
    expect(
      chooseBridge(
        'vsbr0',
        4,
        new Map([
          ['vsbr0', 2],
          ['vsbr0-1', 2],
        ]),
      ).name,
    ).toBe('vsbr0');
    expect(chooseBridge('vsbr0', 1024, new Map([['vsbr0', 1022]])).name).toBe('vsbr0');
    expect(chooseBridge('vsbr0', 1024, new Map([['vsbr0', 1023]])).name).toBe('vsbr0-1');
  });

  it('names the chain after the first bridge', () => {
    expect(spillBridge('vsbr0', 2)).toEqual({ name: 'vsbr0-2', parent: 'vsbr0-1', up: 'vsbr0-2u', down: 'vsbr0-2d' });
    expect(spillBridge('vsbr0', 1).parent).toBe('vsbr0');
    expect(spillIndex('vsbr0', 'vsbr0-12')).toBe(12);
    expect(spillIndex('vsbr0', 'vsbr0-0')).toBeUndefined();
    expect(spillIndex('vsbr0', 'vsbr01')).toBeUndefined();
  });

  it('says what to configure when the pool cannot spill', () => {
    const long = () => chooseBridge('bridge-number1', 4, new Map([['bridge-number1', 3]]));
    expect(long).toThrow(VsError);
    expect(long).toThrow(/bridge bridge-number1 is full \(4 ports\)/);
    try {
      long();
    } catch (e) {
      expect((e as VsError).hint).toMatch(/network\.bridge .* at most 11 characters/);
    }
    const full = new Map<string, number>([
      ['vsbr0', 3],
      ...Array.from({ length: 99 }, (_, k) => [`vsbr0-${k + 1}`, 2] as [string, number]),
    ]);
    expect(() => chooseBridge('vsbr0', 4, full)).toThrow(/all 100 bridges of the pool vsbr0 are full/);
  });

  it('takes bridge_ports from vserver.toml, within what a bridge holds (1024 when not set)', () => {
    expect(validate('/x.toml', HostNetworkSchema, {}).bridge_ports).toBeUndefined();
    expect(BRIDGE_PORTS_MAX).toBe(1024);
    expect(() => validate('/x.toml', HostNetworkSchema, { bridge_ports: 1025 })).toThrow(/bridge_ports.*at most 1024/);
    expect(() => validate('/x.toml', HostNetworkSchema, { bridge_ports: 2 })).toThrow(/bridge_ports.*at least 3/);
  });
});

describe('a start on a spill bridge', () => {
  it('plans the guest onto the next bridge, which is made and joined to the first; the gateway stays on the first', () => {
    const p = planNetwork(input(4, [['vsbr0', 3]], [link('lo'), bridge('vsbr0', ['10.47.0.1/16'])]));
    expect(p.interfaces[0]).toMatchObject({ bridge: 'vsbr0-1', hostDevice: 'vabc123-100-0', gateways: ['10.47.0.1'] });
    expect(p.interfaces[0]!.addresses[0]).toMatch(/^10\.47\./);
    expect(bridgeSetup(p, TAG).map((l) => l.cmd)).toEqual([
      'link add name vsbr0-1 type bridge',
      `link set dev vsbr0-1 alias ${TAG}`,
      'link add name vsbr0-1u type veth peer name vsbr0-1d',
      `link set dev vsbr0-1u master vsbr0 addrgenmode none alias ${TAG}/uplink up`,
      `link set dev vsbr0-1d master vsbr0-1 addrgenmode none alias ${TAG}/uplink up`,
      'link set dev vsbr0-1 up',
    ]);
  });

  it('joins an existing spill bridge without making anything', () => {
    const s = spillBridge('vsbr0', 1);
    const p = planNetwork(
      input(
        4,
        [
          ['vsbr0', 3],
          ['vsbr0-1', 1],
        ],
        [bridge('vsbr0', ['10.47.0.1/16']), bridge('vsbr0-1'), ...uplink(s)],
      ),
    );
    // it is up already: no line at all, and no ip for it
    expect(bridgeSetup(p, TAG).map((l) => l.cmd)).toEqual([]);
    // one that is down (someone set it so) is set up again
    const down = planNetwork(
      input(
        4,
        [
          ['vsbr0', 3],
          ['vsbr0-1', 1],
        ],
        [bridge('vsbr0', ['10.47.0.1/16']), link('vsbr0-1', { kind: 'bridge', alias: TAG, up: false }), ...uplink(s)],
      ),
    );
    expect(bridgeSetup(down, TAG).map((l) => l.cmd)).toEqual(['link set dev vsbr0-1 up']);
  });

  it('refuses a spill bridge name held by a device that is no bridge', () => {
    expect(() => planNetwork(input(4, [['vsbr0', 3]], [bridge('vsbr0', ['10.47.0.1/16']), link('vsbr0-1')]))).toThrow(
      /vsbr0-1 is not a bridge/,
    );
  });
});

describe('taking a spill bridge down', () => {
  const s1 = spillBridge('vsbr0', 1);
  const s2 = spillBridge('vsbr0', 2);
  const guest = (name: string, master: string) => link(name, { kind: 'veth', master, alias: `${TAG}:g` });

  it('removes the last guest of the chain with its bridges, back to the first', () => {
    const links = [bridge('vsbr0'), bridge('vsbr0-1'), bridge('vsbr0-2'), ...uplink(s1), ...uplink(s2), guest('vabc123-100-0', 'vsbr0-2')];
    const plan = {
      guest: 'g',
      context: 100,
      netns: '/x',
      bridges: [],
      forwarding: { v4: false, v6: false },
      interfaces: [
        {
          index: 0,
          name: 'eth0',
          mode: 'bridge' as const,
          hostDevice: 'vabc123-100-0',
          bridge: 'vsbr0-2',
          addresses: [],
          gateways: [],
          nat: false,
          ports: [],
        },
      ],
    };
    expect(hostTeardown(plan, links, TAG).lines.map((l) => l.cmd)).toEqual([
      'link del dev vabc123-100-0',
      'link del dev vsbr0-2d',
      'link del dev vsbr0-2',
      'link del dev vsbr0-1d',
      'link del dev vsbr0-1',
      'link del dev vsbr0',
    ]);
  });

  it('keeps a bridge that still has a guest, and the bridges before it', () => {
    const links = [bridge('vsbr0'), bridge('vsbr0-1'), bridge('vsbr0-2'), ...uplink(s1), ...uplink(s2), guest('vabc123-101-0', 'vsbr0-2')];
    expect(emptyBridges(links, TAG, ['vsbr0-2', 'vsbr0-1', 'vsbr0'], new Set(), new Set()).lines).toEqual([]);
    // a middle bridge without guests of its own stays while the chain goes on behind it
    const middle = [bridge('vsbr0'), bridge('vsbr0-1'), bridge('vsbr0-2'), ...uplink(s1), ...uplink(s2), guest('vabc123-101-0', 'vsbr0')];
    expect(emptyBridges(middle, TAG, ['vsbr0-1'], new Set(), new Set()).lines).toEqual([]);
    expect(emptyBridges(middle, TAG, ['vsbr0-2'], new Set(), new Set()).lines.map((l) => l.cmd)).toEqual([
      'link del dev vsbr0-2d',
      'link del dev vsbr0-2',
      'link del dev vsbr0-1d',
      'link del dev vsbr0-1',
    ]);
    // a guest that is starting onto it keeps it
    expect(emptyBridges(middle, TAG, ['vsbr0-2'], new Set(['vsbr0-2']), new Set()).lines).toEqual([]);
  });
});

describe('the names of the links in a namespace', () => {
  it('reads /proc/net/dev', () => {
    const text = 'Inter-|   Receive\n face |bytes\n    lo: 0 0 0\nvsbr0-1: 1 2 3\n  eth0: 5 6\n';
    expect([...linkNames(text)]).toEqual(['lo', 'vsbr0-1', 'eth0']);
    expect(linkNames().has('lo')).toBe(true);
  });
});
