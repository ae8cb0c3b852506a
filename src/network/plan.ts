// The network plan of a guest: devices, addresses, routes and rules, worked out from the config and
// the host's facts before anything on the host changes. Pure: every bad input is refused here.
import { BRIDGE_PORTS_MAX, DEVICE_MODES, guestIfname, type HostNetwork, type InterfaceConfig } from '../guest/net-schema.js';
import { VsError } from '../util/errors.js';
import {
  contains,
  formatCidr,
  formatIp,
  ipKey,
  isHostAddress,
  networkOf,
  nth,
  parseCidr,
  parsePortSpec,
  sameIp,
  size,
  type Cidr,
  type Family,
  type Ip,
} from '../util/ip.js';
import { addressTaken, bridgeGateways, checkClaims, ipClaim, type Claims } from './claims.js';
import { hostVethName, nftTableName } from './names.js';
import { chooseBridge } from './spill.js';
import type { BridgePlan, DeviceMode, InterfacePlan, LinkFact, NetPlan } from './types.js';

export interface PlanInput {
  /** The guest's config file, named in messages. */
  file: string;
  guest: string;
  context: number;
  instance: string;
  tag: string;
  netns: string;
  interfaces: readonly InterfaceConfig[];
  host: HostNetwork;
  /** The host's links; undefined when checking a config without looking at the host. */
  links?: readonly LinkFact[];
  /** Addresses of the host on devices not among `links` (read without listing every link), with their device. */
  localAddresses?: readonly { address: string; dev: string }[];
  claims: Claims;
  /** Interfaces of the other recorded guests on each bridge, to spill over a full bridge of the pool. */
  bridgeGuests?: ReadonlyMap<string, number>;
}

/** The lowest free host address of the pool, trying pool + context first so that it stays the same across starts. */
export function allocate(pool: Cidr, context: number, isFree: (ip: Ip) => boolean): Ip | undefined {
  const usable = (ip: Ip) => isHostAddress(pool, ip) && isFree(ip);
  const preferred = nth(pool, BigInt(context));
  if (BigInt(context) < size(pool) && usable(preferred)) return preferred;
  for (let k = 1n; k < size(pool); k++) {
    const ip = nth(pool, k);
    if (usable(ip)) return ip;
  }
  return undefined;
}

function missingNic(where: string, what: string, nic: string): VsError {
  return new VsError(
    'NIC_MISSING',
    `${where}: ${what} ${nic} does not exist on the host`,
    "check the name with 'ip link'; a NIC given to a running guest is not on the host while that guest runs",
  );
}

function invalid(where: string, message: string, hint: string): VsError {
  return new VsError('CONFIG_INVALID', `${where}: ${message}`, hint);
}

class Planner {
  private readonly links: Map<string, LinkFact>;
  private readonly knowHost: boolean;
  private readonly hostAddrs = new Map<string, string>();
  /** Addresses given out by this plan so far. */
  private readonly mine = new Set<string>();
  private readonly bridges = new Map<string, BridgePlan>();
  private readonly defaultRoute: Record<Family, boolean> = { 4: false, 6: false };
  private readonly bridgeGuests: Map<string, number>;

  constructor(private readonly input: PlanInput) {
    this.knowHost = input.links !== undefined;
    this.bridgeGuests = new Map(input.bridgeGuests ?? []);
    this.links = new Map((input.links ?? []).map((l) => [l.name, l]));
    for (const l of input.links ?? []) for (const a of l.addresses) this.hostAddrs.set(ipKey(parseCidr(a)!), l.name);
    for (const a of input.localAddresses ?? []) {
      const ip = parseCidr(a.address);
      if (ip && !this.hostAddrs.has(ipKey(ip))) this.hostAddrs.set(ipKey(ip), a.dev);
    }
  }

  plan(): NetPlan {
    const { input } = this;
    checkClaims(input.file, input.interfaces, input.claims);
    const interfaces: InterfacePlan[] = [];
    input.interfaces.forEach((cfg, index) => {
      if (DEVICE_MODES.includes(cfg.mode)) interfaces.push(this.planInterface(cfg, index));
    });
    const v = (f: Family) => interfaces.some((i) => (i.nat || i.ports.length > 0) && i.addresses.some((a) => parseCidr(a)!.family === f));
    return {
      guest: input.guest,
      context: input.context,
      netns: input.netns,
      interfaces,
      bridges: [...this.bridges.values()],
      nftTable: interfaces.some((i) => i.nat || i.ports.length > 0) ? nftTableName(input.tag, input.guest) : undefined,
      forwarding: { v4: v(4), v6: v(6) },
    };
  }

  private planInterface(cfg: InterfaceConfig, index: number): InterfacePlan {
    const where = `${this.input.file}: interfaces.${index}`;
    const p: InterfacePlan = {
      index,
      name: guestIfname(this.input.interfaces, index),
      mode: cfg.mode as DeviceMode,
      addresses: [],
      gateways: [],
      nat: cfg.nat ?? false,
      ports: (cfg.ports ?? []).map((s) => parsePortSpec(s)!),
      mtu: cfg.mtu,
    };
    let pools: Partial<Record<Family, { pool: Cidr; gateway: Ip }>> = {};
    if (cfg.mode === 'bridge') pools = this.planBridge(where, cfg, p);
    else this.planParent(where, cfg, p);
    const wanted: [Family, string | undefined, string | undefined][] = [
      [4, cfg.address ?? (cfg.mode === 'bridge' && cfg.address6 === undefined ? 'auto' : undefined), cfg.gateway],
      [6, cfg.address6, cfg.gateway6],
    ];
    for (const [family, address, gateway] of wanted) {
      if (address === undefined) continue;
      const key = family === 4 ? 'address' : 'address6';
      const managed = pools[family];
      const ip = address === 'auto' ? this.auto(where, key, family, managed) : this.static(`${where}.${key}`, address, managed);
      p.addresses.push(formatCidr(ip));
      const gw = gateway ?? (managed ? formatIp(managed.gateway) : undefined);
      if (gw && !this.defaultRoute[family]) {
        p.gateways.push(gw);
        this.defaultRoute[family] = true;
      }
    }
    return p;
  }

  /** A veth pair into a bridge; the bridge named in vserver.toml is made on demand and owns the pools. */
  private planBridge(where: string, cfg: InterfaceConfig, p: InterfacePlan): Partial<Record<Family, { pool: Cidr; gateway: Ip }>> {
    const { host, instance, context } = this.input;
    const managed = (cfg.bridge ?? host.bridge) === host.bridge;
    // the bridge of the pool with a port left; only a start, which knows the host, spills
    const choice =
      managed && this.knowHost
        ? chooseBridge(host.bridge, host.bridge_ports ?? BRIDGE_PORTS_MAX, this.bridgeGuests)
        : { name: host.bridge };
    const name = managed ? choice.name : cfg.bridge!;
    this.bridgeGuests.set(name, (this.bridgeGuests.get(name) ?? 0) + 1);
    const fact = this.links.get(name);
    if (!fact && !managed && this.knowHost) throw missingNic(where, 'bridge', name);
    if (fact && fact.kind !== 'bridge') {
      throw invalid(
        where,
        `${name} is not a bridge (it is a ${fact.kind ?? 'physical NIC'})`,
        managed ? 'set network.bridge in vserver.toml to a free name or an existing bridge' : 'name a bridge in bridge =',
      );
    }
    p.bridge = name;
    p.hostDevice = hostVethName(instance, context, p.index);
    const clash = this.links.get(p.hostDevice);
    if (clash) {
      throw new VsError(
        'ALREADY_EXISTS',
        `${where}: host device ${p.hostDevice} already exists${clash.alias ? ` (alias ${clash.alias})` : ''}`,
        "it is not this guest's; remove it (ip link del) or give the guest another context number",
      );
    }
    if (!managed) return {};
    const { gw4, gw6 } = bridgeGateways(host);
    const bp: BridgePlan = this.bridges.get(name) ?? {
      name,
      create: !fact,
      addAddresses: [],
      ...(choice.spill && !fact ? { uplink: choice.spill } : {}),
      ...(fact?.up ? { up: true } : {}),
    };
    this.bridges.set(name, bp);
    const out: Partial<Record<Family, { pool: Cidr; gateway: Ip }>> = {};
    for (const gw of [gw4, gw6]) {
      if (!gw) continue;
      const c = parseCidr(gw)!;
      out[c.family] = { pool: networkOf(c), gateway: c };
      // the gateway lives on the first bridge; a spill bridge reaches it through the chain
      if (choice.spill) continue;
      const has = fact?.addresses.some((a) => sameIp(parseCidr(a)!, c)) ?? false;
      if (!has && !bp.addAddresses.includes(gw)) bp.addAddresses.push(gw);
    }
    return out;
  }

  /** macvlan and ipvlan share a NIC of the host; phys takes one. */
  private planParent(where: string, cfg: InterfaceConfig, p: InterfacePlan): void {
    const nic = cfg.parent!;
    const fact = this.links.get(nic);
    p.parent = nic;
    if (!fact) {
      if (this.knowHost) throw missingNic(where, cfg.mode === 'phys' ? 'NIC' : 'parent NIC', nic);
      return;
    }
    if (nic === 'lo' || fact.kind === 'bridge' || fact.alias?.startsWith('vserver') === true) {
      throw invalid(
        where,
        `${nic} cannot be ${cfg.mode === 'phys' ? 'given to a guest' : `the parent of a ${cfg.mode} interface`}` +
          ` (${nic === 'lo' ? 'loopback' : fact.kind === 'bridge' ? 'a bridge' : 'a device vserver made for a guest'})`,
        'name a NIC of the host (ip link shows them)',
      );
    }
    if (cfg.mode === 'phys' && fact.master) {
      throw invalid(
        where,
        `${nic} is a port of ${fact.master}`,
        `take it out first (ip link set ${nic} nomaster), or give the guest another NIC`,
      );
    }
    if (cfg.mode === 'phys') p.restore = { up: fact.up, mtu: fact.mtu, addresses: [...fact.addresses] };
  }

  private isFree(ip: Ip): boolean {
    const k = ipKey(ip);
    return !this.input.claims.has(ipClaim(ip)) && !this.mine.has(k) && !this.hostAddrs.has(k);
  }

  private take(ip: Ip): Ip {
    this.mine.add(ipKey(ip));
    return ip;
  }

  private auto(where: string, key: string, family: Family, managed?: { pool: Cidr }): Cidr {
    if (!managed) {
      throw invalid(
        `${where}.${key}`,
        `"auto" needs a pool, and ${family === 4 ? 'this bridge has none' : 'network.pool6 is not set in vserver.toml'}`,
        family === 4 ? 'give a static address' : 'set network.pool6 (for example "fd47::/64") or give a static address6',
      );
    }
    const ip = allocate(managed.pool, this.input.context, (x) => this.isFree(x));
    if (!ip) {
      throw new VsError(
        'ADDRESS_IN_USE',
        `${where}.${key}: no free address left in ${formatCidr(managed.pool)}`,
        'enlarge the pool in vserver.toml, or free addresses by deleting guests',
      );
    }
    return { ...this.take(ip), prefix: managed.pool.prefix };
  }

  private static(where: string, text: string, managed?: { pool: Cidr; gateway: Ip }): Cidr {
    const c = parseCidr(text, managed?.pool.prefix)!;
    if (managed) {
      const pool = formatCidr(managed.pool);
      if (!contains(managed.pool, c) || c.prefix < managed.pool.prefix) {
        throw invalid(
          where,
          `${formatIp(c)} is outside the bridge's subnet ${pool} (network.pool${c.family === 6 ? '6' : ''} in vserver.toml)`,
          `use an address inside ${pool}, or "auto"`,
        );
      }
      if (c.prefix !== managed.pool.prefix) {
        throw invalid(
          where,
          `${text} has prefix /${c.prefix}, but the bridge's subnet is ${pool}`,
          `write ${formatIp(c)}/${managed.pool.prefix}, or leave the prefix out`,
        );
      }
    } else if (!text.includes('/')) {
      throw invalid(
        where,
        `${text} needs a prefix, for example ${formatIp(c)}/${c.family === 4 ? 24 : 64}`,
        'the prefix tells the guest which addresses are on its link',
      );
    }
    if (!isHostAddress(networkOf(c), c) && c.prefix < (c.family === 4 ? 31 : 127)) {
      throw invalid(
        where,
        `${text} is the ${c.value === networkOf(c).value ? 'network' : 'broadcast'} address of its subnet`,
        'choose an address between them',
      );
    }
    const k = ipKey(c);
    if (this.mine.has(k)) throw addressTaken(where, c, { owner: this.input.guest, how: 'config' });
    const onHost = this.hostAddrs.get(k);
    if (onHost) {
      throw new VsError(
        'ADDRESS_IN_USE',
        `${where}: address ${formatIp(c)} is an address of the host (on ${onHost})`,
        'choose another address',
      );
    }
    this.take(c);
    return c;
  }
}

export function planNetwork(input: PlanInput): NetPlan {
  return new Planner(input).plan();
}
