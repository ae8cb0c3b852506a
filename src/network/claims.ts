// What other guests hold (addresses, host ports, NICs), and the check that a guest takes none of it.
import type { HostNetwork, InterfaceConfig } from '../guest/net-schema.js';
import { VsError } from '../util/errors.js';
import { formatIp, ipKey, nth, parseCidr, parsePortSpec, type Ip } from '../util/ip.js';
import type { NetPlan } from './types.js';

/** One thing a guest holds: a claim key (ipClaim, portClaim, nicClaim) and, for a NIC, how it uses it. */
export type Held = [key: string, use?: string];

/**
 * What another guest holds, in the plain form a start keeps between runs: what its config names, and
 * what its last start set up while that is still recorded (running, or died without cleanup).
 */
export interface OtherGuest {
  name: string;
  config: readonly Held[];
  state?: readonly Held[];
  /** The bridge of each recorded interface on one: the ports it holds, or is about to take. */
  bridges?: readonly string[];
  active: boolean;
}

type How = 'config' | 'running' | 'left' | 'gateway';

interface Claim {
  owner: string;
  how: How;
  /** For NICs: how the other guest uses it (phys, or parent of a macvlan/ipvlan). */
  use?: string;
}

export type Claims = Map<string, Claim>;

export const ipClaim = (ip: Ip) => `ip ${ipKey(ip)}`;
export const portClaim = (port: number, proto: string) => `port ${port}/${proto}`;
export const nicClaim = (nic: string) => `nic ${nic}`;

/** The gateway addresses of the bridge vserver manages: the first address of each pool. */
export function bridgeGateways(host: HostNetwork): { gw4: string; gw6?: string } {
  const p4 = parseCidr(host.pool)!;
  const p6 = host.pool6 === undefined ? undefined : parseCidr(host.pool6)!;
  return {
    gw4: `${formatIp(nth(p4, 1n))}/${p4.prefix}`,
    gw6: p6 ? `${formatIp(nth(p6, 1n))}/${p6.prefix}` : undefined,
  };
}

/** What a guest's config names for itself: static addresses, forwarded host ports, a NIC given with phys. */
export function configHolds(interfaces: readonly InterfaceConfig[]): Held[] {
  const out: Held[] = [];
  for (const i of interfaces) {
    for (const a of [i.address, i.address6]) {
      const c = a && a !== 'auto' ? parseCidr(a) : undefined;
      if (c) out.push([ipClaim(c)]);
    }
    for (const p of i.ports ?? []) {
      const f = parsePortSpec(p)!;
      out.push([portClaim(f.hostPort, f.proto)]);
    }
    if (i.mode === 'phys' && i.parent) out.push([nicClaim(i.parent), 'phys']);
  }
  return out;
}

/** What a recorded start set up: more precise than the config, which may have changed since. */
export function stateHolds(plan: Pick<NetPlan, 'interfaces'>): Held[] {
  const out: Held[] = [];
  for (const i of plan.interfaces) {
    for (const a of i.addresses) out.push([ipClaim(parseCidr(a)!)]);
    for (const p of i.ports) out.push([portClaim(p.hostPort, p.proto)]);
    if (i.parent) out.push([nicClaim(i.parent), i.mode]);
  }
  return out;
}

export function collectClaims(others: readonly OtherGuest[], host: HostNetwork): Claims {
  const claims: Claims = new Map();
  const { gw4, gw6 } = bridgeGateways(host);
  for (const gw of [gw4, gw6]) if (gw) claims.set(ipClaim(parseCidr(gw)!), { owner: host.bridge, how: 'gateway' });
  for (const o of others) {
    for (const [key, use] of o.config) claims.set(key, { owner: o.name, how: 'config', ...(use ? { use } : {}) });
    const how: How = o.active ? 'running' : 'left';
    for (const [key, use] of o.state ?? []) claims.set(key, { owner: o.name, how, ...(use ? { use } : {}) });
  }
  return claims;
}

function holder(c: Claim): string {
  switch (c.how) {
    case 'config':
      return `configured for guest '${c.owner}'`;
    case 'running':
      return `in use by guest '${c.owner}'`;
    case 'left':
      return `still held by guest '${c.owner}', which stopped without cleaning up`;
    case 'gateway':
      return `the gateway address of bridge ${c.owner}`;
  }
}

function fixHint(c: Claim, fix: string): string {
  return c.how === 'left' ? `run 'vserver gc' to clean up after guest '${c.owner}', then try again` : fix;
}

export function addressTaken(where: string, ip: Ip, c: Claim): VsError {
  return new VsError(
    'ADDRESS_IN_USE',
    `${where}: address ${formatIp(ip)} is ${holder(c)}`,
    fixHint(c, 'choose another address, or address = "auto" to get a free one'),
  );
}

export function portTaken(where: string, port: number, proto: string, c: Claim): VsError {
  const text = c.how === 'config' ? `configured to forward to guest '${c.owner}'` : holder(c);
  return new VsError(
    'ADDRESS_IN_USE',
    `${where}: host port ${port}/${proto} is ${text}`,
    fixHint(c, 'forward another host port, or remove the forward from the other guest'),
  );
}

export function nicTaken(where: string, nic: string, c: Claim): VsError {
  const use = c.use === 'phys' || c.use === undefined ? 'given to' : `the parent of a ${c.use} interface of`;
  const text =
    c.how === 'config'
      ? `configured as the NIC of guest '${c.owner}' (mode phys)`
      : `${use} guest '${c.owner}'${c.how === 'left' ? ', which stopped without cleaning up' : ''}`;
  return new VsError(
    'NIC_IN_USE',
    `${where}: NIC ${nic} is ${text}`,
    fixHint(c, `a NIC given to a guest belongs to that guest alone; stop guest '${c.owner}' or choose another NIC`),
  );
}

/**
 * Checks a guest's static addresses, host ports and NICs against what others hold; used when the
 * config is written and again at start (where "auto" addresses are checked as they are chosen).
 */
export function checkClaims(file: string, interfaces: readonly InterfaceConfig[], claims: Claims): void {
  interfaces.forEach((i, n) => {
    const where = `${file}: interfaces.${n}`;
    for (const a of [i.address, i.address6]) {
      const c = a && a !== 'auto' ? parseCidr(a) : undefined;
      const claim = c && claims.get(ipClaim(c));
      if (c && claim) throw addressTaken(where, c, claim);
    }
    for (const p of i.ports ?? []) {
      const f = parsePortSpec(p)!;
      const claim = claims.get(portClaim(f.hostPort, f.proto));
      if (claim) throw portTaken(where, f.hostPort, f.proto, claim);
    }
    const nic = i.parent ? claims.get(nicClaim(i.parent)) : undefined;
    // NICs may be shared by macvlan and ipvlan guests, but one given with phys is no one else's
    if (i.parent && nic && (i.mode === 'phys' || nic.use === 'phys')) throw nicTaken(where, i.parent, nic);
  });
}
