// The network part of the config files: [[interfaces]] of a guest and [network] of the host.
import * as v from 'valibot';
import { contains, formatCidr, ipKey, networkOf, parseCidr, parseIp, parsePortSpec, type Family } from '../util/ip.js';

export const NET_MODES = ['none', 'host', 'bridge', 'macvlan', 'ipvlan', 'phys'] as const;
export type NetMode = (typeof NET_MODES)[number];
/** Modes that put a device of their own into the guest's network namespace. */
export const DEVICE_MODES: readonly NetMode[] = ['bridge', 'macvlan', 'ipvlan', 'phys'];
export const MAX_INTERFACES = 16;
export const DEFAULT_BRIDGE = 'vsbr0';
export const DEFAULT_POOL = '10.47.0.0/16';

const ifname = v.pipe(
  v.string(),
  v.regex(/^(?!\.\.?$)[A-Za-z0-9_.-]{1,15}$/, 'must be a network interface name: 1 to 15 letters, digits, ".", "-" or "_"'),
);

const famName = (f: Family) => (f === 4 ? 'IPv4' : 'IPv6');

/** "auto", or an address of one family with an optional /prefix. */
const address = (f: Family) =>
  v.pipe(
    v.string(),
    v.check(
      (s) => s === 'auto' || parseCidr(s)?.family === f,
      `must be "auto" or an ${famName(f)} address with an optional prefix, for example ${f === 4 ? '"10.47.0.5/16"' : '"fd47::5/64"'}`,
    ),
  );

const ip = (f: Family) =>
  v.pipe(
    v.string(),
    v.check(
      (s) => parseIp(s)?.family === f,
      `must be an ${famName(f)} address without prefix, for example ${f === 4 ? '"10.47.0.1"' : '"fd47::1"'}`,
    ),
  );

const network = (f: Family) =>
  v.pipe(
    v.string(),
    v.check(
      (s) => {
        const c = parseCidr(s);
        return c !== undefined && s.includes('/') && c.family === f && c.prefix <= (f === 4 ? 30 : 126);
      },
      `must be an ${famName(f)} network with its prefix, for example ${f === 4 ? '"10.47.0.0/16"' : '"fd47::/64"'}`,
    ),
  );

const port = v.pipe(
  v.string(),
  v.check(
    (s) => parsePortSpec(s) !== undefined,
    'must be "HOST_PORT[:GUEST_PORT][/tcp|udp]" with ports 1-65535, for example "8080:80" or "53/udp"',
  ),
);

const InterfaceEntries = v.strictObject({
  mode: v.picklist(NET_MODES, `must be one of: ${NET_MODES.join(', ')}`),
  name: v.optional(ifname),
  bridge: v.optional(ifname),
  parent: v.optional(ifname),
  address: v.optional(address(4)),
  address6: v.optional(address(6)),
  gateway: v.optional(ip(4)),
  gateway6: v.optional(ip(6)),
  nat: v.optional(v.boolean()),
  ports: v.optional(v.array(port)),
  mtu: v.optional(
    v.pipe(
      v.number(),
      v.integer('must be a whole number'),
      v.minValue(68, 'must be at least 68'),
      v.maxValue(65535, 'must be at most 65535'),
    ),
  ),
});

type InterfaceInput = v.InferOutput<typeof InterfaceEntries>;
type Problem = [key: string, message: string];

/** Which keys each mode takes besides `mode`. */
const KEYS: Record<NetMode, readonly (keyof InterfaceInput)[]> = {
  none: [],
  host: [],
  bridge: ['name', 'bridge', 'address', 'address6', 'gateway', 'gateway6', 'nat', 'ports', 'mtu'],
  macvlan: ['name', 'parent', 'address', 'address6', 'gateway', 'gateway6', 'mtu'],
  ipvlan: ['name', 'parent', 'address', 'address6', 'gateway', 'gateway6', 'mtu'],
  phys: ['name', 'parent', 'address', 'address6', 'gateway', 'gateway6', 'mtu'],
};

function interfaceProblems(i: InterfaceInput): Problem[] {
  const out: Problem[] = [];
  for (const k of Object.keys(i) as (keyof InterfaceInput)[]) {
    if (k !== 'mode' && i[k] !== undefined && !KEYS[i.mode].includes(k)) out.push([k, `is not used with mode "${i.mode}"`]);
  }
  if (['macvlan', 'ipvlan', 'phys'].includes(i.mode) && i.parent === undefined) {
    out.push(['parent', `is required with mode "${i.mode}": the host NIC to ${i.mode === 'phys' ? 'give to the guest' : 'share'}`]);
  }
  if (i.mode !== 'bridge') {
    for (const k of ['address', 'address6'] as const) {
      if (i[k] === 'auto') out.push([k, '"auto" works with mode "bridge" only, whose subnet is the pool; give a static address']);
    }
  }
  for (const [a, g] of [
    ['address', 'gateway'],
    ['address6', 'gateway6'],
  ] as const) {
    const cidr = i[a] === undefined || i[a] === 'auto' ? undefined : parseCidr(i[a]!);
    const gw = i[g] === undefined ? undefined : parseIp(i[g]!);
    if (cidr && gw && cidr.prefix < (cidr.family === 4 ? 32 : 128) && !contains(cidr, gw)) {
      out.push([g, `is not in the subnet of ${a} (${formatCidr(networkOf(cidr))})`]);
    }
  }
  return out;
}

/** Rules across the interfaces of one guest. */
function listProblems(list: InterfaceInput[]): Problem[] {
  const out: Problem[] = [];
  if (list.length > MAX_INTERFACES) out.push(['', `has ${list.length} entries; a guest can have at most ${MAX_INTERFACES}`]);
  const alone = list.findIndex((i) => i.mode === 'host' || i.mode === 'none');
  if (alone >= 0 && list.length > 1) {
    out.push([`${alone}.mode`, `"${list[alone]!.mode}" must be the only interface of the guest`]);
  }
  const names = new Map<string, number>();
  const addrs = new Map<string, number>();
  const ports = new Map<string, number>();
  const gateways = new Map<string, number>();
  list.forEach((i, n) => {
    const name = i.name ?? guestIfname(list, n);
    if (names.has(name)) out.push([`${n}.name`, `"${name}" is also the name of interface ${names.get(name)}`]);
    names.set(name, n);
    for (const k of ['address', 'address6'] as const) {
      const c = i[k] && i[k] !== 'auto' ? parseCidr(i[k]!) : undefined;
      if (!c) continue;
      const key = ipKey(c);
      if (addrs.has(key)) out.push([`${n}.${k}`, `repeats the address of interface ${addrs.get(key)}`]);
      addrs.set(key, n);
    }
    for (const p of i.ports ?? []) {
      // checks run on entries that failed their own checks too; those are reported already
      const f = parsePortSpec(p);
      if (!f) continue;
      const key = `${f.hostPort}/${f.proto}`;
      if (ports.has(key)) out.push([`${n}.ports`, `forwards host port ${key} twice`]);
      ports.set(key, n);
    }
    for (const k of ['gateway', 'gateway6'] as const) {
      if (i[k] === undefined) continue;
      if (gateways.has(k))
        out.push([`${n}.${k}`, `a guest has one default route per family; interface ${gateways.get(k)} already sets ${k}`]);
      gateways.set(k, n);
    }
  });
  return out;
}

/** The name an interface gets inside the guest: its `name`, or ethN counting the device modes in order. */
export function guestIfname(list: readonly { mode: NetMode; name?: string | undefined }[], index: number): string {
  const own = list[index]?.name;
  if (own !== undefined) return own;
  return `eth${list.slice(0, index).filter((i) => DEVICE_MODES.includes(i.mode)).length}`;
}

function raise(
  problems: Problem[],
  prefix: string,
  input: unknown,
  addIssue: (info: { message: string; path: [v.IssuePathItem, ...v.IssuePathItem[]] }) => void,
): void {
  for (const [key, message] of problems) {
    const keys = [prefix, ...key.split('.')].filter((k) => k !== '');
    const path = keys.map((k) => ({ type: 'object', origin: 'value', input, key: /^\d+$/.test(k) ? Number(k) : k, value: undefined }));
    addIssue({ message, path: path as unknown as [v.IssuePathItem, ...v.IssuePathItem[]] });
  }
}

export const InterfaceSchema = v.pipe(
  InterfaceEntries,
  v.rawCheck(({ dataset, addIssue }) => {
    if (dataset.typed) raise(interfaceProblems(dataset.value), '', dataset.value, addIssue);
  }),
);

export const InterfacesSchema = v.pipe(
  v.array(InterfaceSchema),
  v.rawCheck(({ dataset, addIssue }) => {
    if (dataset.typed) raise(listProblems(dataset.value), '', dataset.value, addIssue);
  }),
);

export type InterfaceConfig = v.InferOutput<typeof InterfaceSchema>;

const nameserver = v.pipe(
  v.string(),
  v.check((s) => parseIp(s) !== undefined, 'each must be an IPv4 or IPv6 address'),
);
const domain = v.pipe(v.string(), v.regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/, 'each must be a domain name'));

/** Keys of the guest config that belong to networking. */
export const guestNetEntries = {
  interfaces: v.optional(InterfacesSchema),
  nameservers: v.optional(v.pipe(v.array(nameserver), v.maxLength(3, 'takes at most 3 servers (the resolver uses no more)'))),
  search: v.optional(v.pipe(v.array(domain), v.maxLength(6, 'takes at most 6 domains'))),
};

/** The most ports a Linux bridge holds (BR_MAX_PORTS). */
export const BRIDGE_PORTS_MAX = 1024;

export const HostNetworkSchema = v.strictObject({
  bridge: v.optional(ifname, DEFAULT_BRIDGE),
  pool: v.optional(network(4), DEFAULT_POOL),
  pool6: v.optional(network(6)),
  /** Ports a bridge of the pool takes before guests spill to the next one; default BRIDGE_PORTS_MAX. */
  bridge_ports: v.optional(
    v.pipe(
      v.number(),
      v.integer('must be a whole number'),
      v.minValue(3, 'must be at least 3 (one guest, and the links to the bridges before and after)'),
      v.maxValue(1024, 'must be at most 1024, the most ports a Linux bridge holds'),
    ),
  ),
});

export type HostNetwork = v.InferOutput<typeof HostNetworkSchema>;
