// The commands that carry out a network plan, as data: `ip -batch` lines and nftables scripts.
import { VsError } from '../util/errors.js';
import { formatCidr, networkOf, parseCidr } from '../util/ip.js';
import { bridgeAlias, deviceAlias } from './names.js';
import { uplinkAlias } from './spill.js';
import type { InterfacePlan, LinkFact, NetPlan } from './types.js';

/** One line of an `ip -batch` script and what it is for, so that a failure can be told in words. */
export interface BatchLine {
  cmd: string;
  what: string;
  /** A removal whose object the kernel may already have taken (a veth goes with its guest's namespace): absent is done. */
  goneIsDone?: boolean;
}

/** An argument for `ip -batch`, which splits on blanks, honours quotes and cuts lines at '#'. */
export function batchArg(s: string): string {
  if (/[#\n\r"]/.test(s)) {
    throw new VsError(
      'INVALID_VALUE',
      `the path ${JSON.stringify(s)} cannot be passed to ip (it contains '#', '"' or a line break)`,
      'use a root prefix without those characters',
    );
  }
  return /[\s']/.test(s) ? `"${s}"` : s;
}

const mtu = (i: { mtu?: number }) => (i.mtu === undefined ? '' : ` mtu ${i.mtu}`);
const addrFlags = (cidr: string) => (parseCidr(cidr)!.family === 6 ? ' nodad' : '');

/**
 * A bridge port on the host is only a port: it gets no IPv6 link-local address of its own (the
 * bridge has one), so a thousand guests add no thousand addresses, DAD probes and MLD reports.
 */
const PORT_ONLY = 'addrgenmode none';

/** Host side of a start, first part: the bridges, which do not need the guest's namespace yet. */
export function bridgeSetup(plan: NetPlan, tag: string): BatchLine[] {
  const out: BatchLine[] = [];
  for (const b of plan.bridges) {
    const what = `bridge ${b.name}`;
    if (b.create) {
      out.push({ cmd: `link add name ${b.name} type bridge`, what });
      out.push({ cmd: `link set dev ${b.name} alias ${bridgeAlias(tag)}`, what });
    }
    if (b.uplink) {
      const u = b.uplink;
      out.push({ cmd: `link add name ${u.up} type veth peer name ${u.down}`, what });
      out.push({ cmd: `link set dev ${u.up} master ${u.parent} ${PORT_ONLY} alias ${uplinkAlias(tag)} up`, what });
      out.push({ cmd: `link set dev ${u.down} master ${b.name} ${PORT_ONLY} alias ${uplinkAlias(tag)} up`, what });
    }
    for (const a of b.addAddresses) out.push({ cmd: `address add ${a} dev ${b.name}${addrFlags(a)}`, what });
    if (!b.up) out.push({ cmd: `link set dev ${b.name} up`, what });
  }
  return out;
}

/**
 * Host side of a start, second part: veth pairs, and devices created in or moved into the guest's
 * namespace, named by a path to it (its file, or /proc/PID/ns/net of a process in it).
 */
export function deviceSetup(plan: NetPlan, tag: string, netns = plan.netns): BatchLine[] {
  const ns = batchArg(netns);
  const out: BatchLine[] = [];
  for (const i of plan.interfaces) {
    const what = describe(i);
    switch (i.mode) {
      case 'bridge':
        out.push({ cmd: `link add name ${i.hostDevice}${mtu(i)} type veth peer name ${i.name}${mtu(i)} netns ${ns}`, what });
        out.push({ cmd: `link set dev ${i.hostDevice} master ${i.bridge} ${PORT_ONLY} alias ${deviceAlias(tag, plan.guest)} up`, what });
        break;
      case 'macvlan':
      case 'ipvlan':
        out.push({ cmd: `link set dev ${i.parent} up`, what });
        out.push({
          cmd: `link add link ${i.parent} name ${i.name}${mtu(i)} netns ${ns} type ${i.mode} mode ${i.mode === 'macvlan' ? 'bridge' : 'l2'}`,
          what,
        });
        break;
      case 'phys':
        out.push({ cmd: `link set dev ${i.parent} netns ${ns} name ${i.name}`, what });
        break;
    }
  }
  return out;
}

/** Inside the guest's namespace: loopback, addresses, links up, default routes. */
export function guestSetup(plan: NetPlan): BatchLine[] {
  const out: BatchLine[] = [{ cmd: 'link set dev lo up', what: 'loopback' }];
  for (const i of plan.interfaces) {
    const what = describe(i);
    if (i.mode === 'phys' && i.mtu !== undefined) out.push({ cmd: `link set dev ${i.name} mtu ${i.mtu}`, what });
    for (const a of i.addresses) out.push({ cmd: `address add ${a} dev ${i.name}${addrFlags(a)}`, what });
    out.push({ cmd: `link set dev ${i.name} up`, what });
    for (const g of i.gateways) out.push({ cmd: `route add default via ${g} dev ${i.name}`, what });
  }
  return out;
}

/** Inside the guest's namespace at teardown: NICs given with phys go back to the host (the process `hostPid` is in). */
export function guestTeardown(plan: NetPlan, hostPid: number): BatchLine[] {
  return plan.interfaces
    .filter((i) => i.mode === 'phys')
    .flatMap((i) => [
      { cmd: `link set dev ${i.name} down`, what: describe(i) },
      { cmd: `link set dev ${i.name} netns ${hostPid} name ${i.parent}`, what: describe(i) },
    ]);
}

export interface HostTeardown {
  lines: BatchLine[];
  /** What the lines remove or give back, in words, for `vserver gc`. */
  removed: string[];
}

/**
 * On the host at teardown, given what is there now: the host ends of this guest's veths (the
 * peers go with them), NICs that came back get their old settings, and bridges vserver made that
 * are left without members, unless another guest that is starting is about to join them (`keep`).
 */
export function hostTeardown(plan: NetPlan, links: readonly LinkFact[], tag: string, keep: ReadonlySet<string> = new Set()): HostTeardown {
  const byName = new Map(links.map((l) => [l.name, l]));
  const lines: BatchLine[] = [];
  const removed: string[] = [];
  const gone = new Set<string>();
  const alias = deviceAlias(tag, plan.guest);
  // a veth of this guest's name without alias was made by a start that died before the next line set it
  const ours = (l: LinkFact | undefined) => l !== undefined && (l.alias === alias || (l.alias === undefined && l.kind === 'veth'));
  for (const i of plan.interfaces) {
    const what = describe(i);
    if (i.mode === 'bridge' && i.hostDevice && ours(byName.get(i.hostDevice))) {
      lines.push({ cmd: `link del dev ${i.hostDevice}`, what, goneIsDone: true });
      removed.push(`veth ${i.hostDevice}`);
      gone.add(i.hostDevice);
    }
    const back = i.mode === 'phys' && i.parent ? byName.get(i.parent) : undefined;
    if (back && i.restore) {
      if (back.mtu !== i.restore.mtu) lines.push({ cmd: `link set dev ${i.parent} mtu ${i.restore.mtu}`, what });
      for (const a of i.restore.addresses) {
        if (!back.addresses.includes(a)) lines.push({ cmd: `address add ${a} dev ${i.parent}${addrFlags(a)}`, what });
      }
      if (i.restore.up && !back.up) lines.push({ cmd: `link set dev ${i.parent} up`, what });
    }
  }
  const bridges = plan.interfaces.map((i) => i.bridge).filter((b): b is string => b !== undefined);
  // a bridge this start was to make, still without alias, was made by a start that failed before the next line set it
  const made = new Set(plan.bridges.filter((x) => x.create).map((x) => x.name));
  const empty = emptyBridges(links, tag, bridges, keep, gone, made);
  return { lines: [...lines, ...empty.lines], removed: [...removed, ...empty.removed] };
}

/**
 * Bridges vserver made that are left without guests, among `candidates`: a spill bridge goes with
 * the veth pair that joins it to the bridge before it, which may then be left empty in turn.
 * `gone` has the devices already being removed, and gets these.
 */
export function emptyBridges(
  links: readonly LinkFact[],
  tag: string,
  candidates: Iterable<string>,
  keep: ReadonlySet<string>,
  gone: Set<string>,
  made: ReadonlySet<string> = new Set(),
): HostTeardown {
  const byName = new Map(links.map((l) => [l.name, l]));
  const lines: BatchLine[] = [];
  const removed: string[] = [];
  const queue = [...new Set(candidates)];
  for (let b = queue.shift(); b !== undefined; b = queue.shift()) {
    const fact = byName.get(b);
    const ours = fact?.alias === bridgeAlias(tag) || (fact?.kind === 'bridge' && fact.alias === undefined && made.has(b));
    if (gone.has(b) || !ours || keep.has(b)) continue;
    // its own link to the bridge before it is no guest
    const down = links.find((l) => l.master === b && l.alias === uplinkAlias(tag) && l.name === `${b}d`);
    if (links.some((l) => l.master === b && !gone.has(l.name) && l !== down)) continue;
    if (down) {
      lines.push({ cmd: `link del dev ${down.name}`, what: `bridge ${b}` });
      gone.add(down.name).add(`${b}u`);
      const parent = byName.get(`${b}u`)?.master;
      if (parent) queue.push(parent);
    }
    lines.push({ cmd: `link del dev ${b}`, what: `bridge ${b}` });
    removed.push(`bridge ${b} (no members left)`);
    gone.add(b);
  }
  return { lines, removed };
}

export function describe(i: InterfacePlan): string {
  const on = i.mode === 'bridge' ? ` on ${i.bridge}` : i.parent ? ` (${i.parent})` : '';
  return `interface ${i.name}: ${i.mode}${on}`;
}

/** nftables: a guest's own table with its port forwards and outbound NAT; replaced whole, so it can be applied again. */
export function nftSetup(plan: NetPlan): string {
  if (!plan.nftTable) return '';
  const dnat: string[] = [];
  const masq: string[] = [];
  for (const i of plan.interfaces) {
    for (const a of i.addresses) {
      const c = parseCidr(a)!;
      const [nfproto, fam] = c.family === 4 ? ['ipv4', 'ip'] : ['ipv6', 'ip6'];
      const ip = a.split('/')[0]!;
      const to = (port: number) => (c.family === 4 ? `${ip}:${port}` : `[${ip}]:${port}`);
      for (const p of i.ports) {
        dnat.push(`meta nfproto ${nfproto} fib daddr type local ${p.proto} dport ${p.hostPort} dnat ${fam} to ${to(p.guestPort)}`);
      }
      if (i.nat) masq.push(`${fam} saddr ${ip} ${fam} daddr != ${formatCidr(networkOf(c))} masquerade`);
      // a forward used from the host's 127.0.0.1 leaves with the bridge's address, which the guest can answer
      if (c.family === 4 && i.ports.length > 0) masq.push(`ip saddr 127.0.0.0/8 ip daddr ${ip} masquerade`);
    }
  }
  const bridges = loopbackBridges(plan);
  const chain = (name: string, type: string, hook: string, prio: string, rules: string[]) =>
    rules.length === 0
      ? ''
      : `  chain ${name} {\n    type ${type} hook ${hook} priority ${prio}; policy accept;\n${rules.map((r) => `    ${r}\n`).join('')}  }\n`;
  return (
    `${nftRemove(plan.nftTable)}table inet ${plan.nftTable} {\n` +
    // the bridge routes 127.0.0.0/8 for those forwards (route_localnet): never let a guest reach the host's loopback that way
    chain(
      'loopback',
      'filter',
      'prerouting',
      'raw',
      bridges.map((b) => `iifname "${b}" ip daddr 127.0.0.0/8 drop`),
    ) +
    chain('prerouting', 'nat', 'prerouting', 'dstnat', dnat) +
    // the host's own connections to a forwarded port pass the output hook, not prerouting
    chain('output', 'nat', 'output', '-100', dnat) +
    chain('postrouting', 'nat', 'postrouting', 'srcnat', masq) +
    '}\n'
  );
}

/**
 * Bridges through which the host's 127.0.0.1 reaches this guest's IPv4 port forwards: the kernel routes
 * a loopback source out of them only with route_localnet set on them.
 */
export function loopbackBridges(plan: Pick<NetPlan, 'interfaces'>): string[] {
  const out = plan.interfaces.filter(
    (i) => i.mode === 'bridge' && i.bridge && i.ports.length > 0 && i.addresses.some((a) => parseCidr(a)?.family === 4),
  );
  return [...new Set(out.map((i) => i.bridge!))];
}

/** Removes a table whether or not it exists (nft 1.0.6 has no "destroy"). */
export function nftRemove(table: string): string {
  return `add table inet ${table}\ndelete table inet ${table}\n`;
}
