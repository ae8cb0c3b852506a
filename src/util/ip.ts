// IPv4 and IPv6 addresses and prefixes as numbers, so that subnets can be checked and counted.
export type Family = 4 | 6;

export interface Ip {
  family: Family;
  value: bigint;
}

export interface Cidr extends Ip {
  prefix: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    v = (v << 8n) | BigInt(p);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.split('::').length > 2) return undefined;
  if (s.includes('.')) {
    // an embedded IPv4 address (::ffff:1.2.3.4) stands for the last two groups
    const at = s.lastIndexOf(':');
    const v4 = parseV4(s.slice(at + 1));
    if (v4 === undefined) return undefined;
    return parseV6(`${s.slice(0, at + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`);
  }
  const groups = (x: string): bigint[] | undefined => {
    if (x === '') return [];
    const out: bigint[] = [];
    for (const g of x.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(BigInt(`0x${g}`));
    }
    return out;
  };
  const [headText, restText] = s.split('::') as [string, string | undefined];
  const head = groups(headText);
  const rest = restText === undefined ? [] : groups(restText);
  if (!head || !rest) return undefined;
  const given = head.length + rest.length;
  if (restText === undefined ? given !== 8 : given > 7) return undefined;
  const all = [...head, ...Array<bigint>(8 - given).fill(0n), ...rest];
  return all.reduce((v, g) => (v << 16n) | g, 0n);
}

/** Parses an address without prefix; undefined if it is not one. */
export function parseIp(s: string): Ip | undefined {
  if (s.includes(':')) {
    const v = parseV6(s);
    return v === undefined ? undefined : { family: 6, value: v };
  }
  const v = parseV4(s);
  return v === undefined ? undefined : { family: 4, value: v };
}

/** Parses ADDRESS/PREFIX; without a prefix, `defaultPrefix` (or the full length) applies. */
export function parseCidr(s: string, defaultPrefix?: number): Cidr | undefined {
  const slash = s.indexOf('/');
  const ip = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!ip) return undefined;
  if (slash < 0) return { ...ip, prefix: defaultPrefix ?? BITS[ip.family] };
  const p = s.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > BITS[ip.family]) return undefined;
  return { ...ip, prefix: Number(p) };
}

export function formatIp(ip: Ip): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  // the longest run of two or more zero groups becomes '::' (RFC 5952)
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c)}/${c.prefix}`;
}

function mask(family: Family, prefix: number): bigint {
  const bits = BigInt(BITS[family]);
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** The network a prefix belongs to (host bits cleared). */
export function networkOf(c: Cidr): Cidr {
  return { family: c.family, value: c.value & mask(c.family, c.prefix), prefix: c.prefix };
}

export function contains(net: Cidr, ip: Ip): boolean {
  return net.family === ip.family && (ip.value & mask(net.family, net.prefix)) === networkOf(net).value;
}

/** Number of addresses in the prefix. */
export function size(net: Cidr): bigint {
  return 1n << BigInt(BITS[net.family] - net.prefix);
}

/** The address `n` places after the network address. */
export function nth(net: Cidr, n: bigint): Ip {
  return { family: net.family, value: networkOf(net).value + n };
}

/** Whether `ip` may be given to a host: not the network address, nor the IPv4 broadcast address. */
export function isHostAddress(net: Cidr, ip: Ip): boolean {
  if (!contains(net, ip)) return false;
  const off = ip.value - networkOf(net).value;
  if (net.family === 4 && net.prefix < 31) return off !== 0n && off !== size(net) - 1n;
  return net.family === 6 && net.prefix < 127 ? off !== 0n : true;
}

export function sameIp(a: Ip, b: Ip): boolean {
  return a.family === b.family && a.value === b.value;
}

/** A stable text key for an address, for sets and maps. */
export function ipKey(ip: Ip): string {
  return `${ip.family}:${ip.value.toString(16)}`;
}

export type Proto = 'tcp' | 'udp';

export interface PortForward {
  hostPort: number;
  guestPort: number;
  proto: Proto;
}

/** A port forward as written in a config: "HOST[:GUEST][/tcp|udp]", for example "8080:80" or "53/udp". */
export function parsePortSpec(s: string): PortForward | undefined {
  const m = /^(\d{1,5})(?::(\d{1,5}))?(?:\/(tcp|udp))?$/.exec(s);
  if (!m) return undefined;
  const hostPort = Number(m[1]);
  const guestPort = Number(m[2] ?? m[1]);
  if (hostPort < 1 || hostPort > 65535 || guestPort < 1 || guestPort > 65535) return undefined;
  return { hostPort, guestPort, proto: (m[3] ?? 'tcp') as Proto };
}
