// A guest's network: set up before its init starts, taken down after it ends, shown by status.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEVICE_MODES, guestIfname, type InterfaceConfig } from '../guest/net-schema.js';
import type { GuestConfig } from '../guest/schema.js';
import { collectClaims, type OtherGuest } from '../network/claims.js';
import { etcFiles } from '../network/etc.js';
import { ipBatch, readLinks } from '../network/iproute.js';
import { aliasGuest, bridgeAlias, hostVethName, tableGuest } from '../network/names.js';
import { IpSession } from '../network/ip-session.js';
import { enableForwarding, netnsMounted, newNetnsCommand, removeNetns } from '../network/netns.js';
import { nftApply, nftInetTables } from '../network/nft.js';
import { planNetwork } from '../network/plan.js';
import { bridgeSetup, deviceSetup, guestSetup, guestTeardown, hostTeardown, nftRemove, nftSetup, type BatchLine } from '../network/script.js';
import type { LinkFact, NetPlan } from '../network/types.js';
import type { OciMount } from '../runtime/oci-types.js';
import { writeFileAtomic } from '../util/atomic.js';
import { errnoOf } from '../util/errors.js';
import { parsePortSpec, type PortForward } from '../util/ip.js';
import { readIfExists } from '../util/fs.js';
import { withLock } from '../util/lock.js';
import type { Deps } from './deps.js';
import { isActive } from './state.js';
import type { InterfaceInfo } from './types.js';

export interface GuestNetwork {
  /** For the spec: a namespace to join, 'host', or undefined for a new one with loopback only. */
  netns?: string;
  /** Bind mounts of /etc/hostname, /etc/hosts and /etc/resolv.conf. */
  mounts: OciMount[];
}

/** Network set-up and teardown of all guests take turns: they share bridges and the address pool. */
const networkLock = (deps: Deps) => join(deps.paths.locks, '.network');

export function readNetState(deps: Deps, name: string): NetPlan | undefined {
  const text = readIfExists(deps.paths.netState(name));
  return text === undefined ? undefined : (JSON.parse(text) as NetPlan);
}

function stateNames(deps: Deps): string[] {
  try {
    return readdirSync(deps.paths.netStateDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw e;
  }
}

/** Every other guest with what it holds: its config, and what its last start set up if that is still there. */
async function otherGuests(deps: Deps, name: string): Promise<OtherGuest[]> {
  const active = new Set((await (await deps.runtime()).list()).filter(isActive).map((s) => s.id));
  const out = new Map<string, OtherGuest>();
  for (const g of deps.store.readAll()) {
    if (g.name !== name) out.set(g.name, { name: g.name, interfaces: g.config?.interfaces ?? [], active: active.has(g.name) });
  }
  for (const n of stateNames(deps)) {
    if (n === name) continue;
    const state = readNetState(deps, n);
    const o = out.get(n) ?? { name: n, interfaces: [], active: active.has(n) };
    out.set(n, { ...o, state });
  }
  return [...out.values()];
}

/**
 * The config-time check, without looking at the host: addresses fit the bridge's subnet, and static
 * addresses, forwarded ports and NICs are not another guest's. Start checks all of it again.
 */
export async function checkNetworkConfig(deps: Deps, name: string, cfg: GuestConfig): Promise<void> {
  const interfaces = cfg.interfaces ?? [];
  if (networkMode(interfaces) !== 'own') return;
  planFor(deps, name, cfg, interfaces, undefined, await otherGuests(deps, name));
}

function planFor(deps: Deps, name: string, cfg: GuestConfig, interfaces: readonly InterfaceConfig[],
  links: LinkFact[] | undefined, others: OtherGuest[]): NetPlan {
  const { paths } = deps;
  const host = deps.host().network;
  return planNetwork({
    file: paths.guestConfig(name), guest: name, context: cfg.context, instance: paths.instance, tag: paths.netTag,
    netns: paths.netns(name), interfaces, host, links, claims: collectClaims(others, host),
  });
}

function networkMode(interfaces: readonly InterfaceConfig[]): 'none' | 'host' | 'own' {
  if (interfaces.some((i) => i.mode === 'host')) return 'host';
  return interfaces.some((i) => DEVICE_MODES.includes(i.mode)) ? 'own' : 'none';
}

export async function setupNetwork(deps: Deps, name: string, cfg: GuestConfig): Promise<GuestNetwork> {
  const interfaces = cfg.interfaces ?? [];
  const mode = networkMode(interfaces);
  let plan: NetPlan | undefined;
  if (mode === 'own') {
    // ip starts while the lock is taken; it is asked for the links only once the lock is held
    const host = new IpSession();
    try {
      plan = await withLock(networkLock(deps), `setting up the network of ${name}`, () => applyPlan(deps, name, cfg, interfaces, host));
    } finally {
      host.kill();
    }
  }
  const mounts = writeEtcFiles(deps, name, cfg, plan, mode === 'host');
  return { netns: mode === 'host' ? 'host' : plan?.netns, mounts };
}

/**
 * Two ip processes do the whole set-up: one on the host side, which first reports the links the
 * plan is checked against, and one started by unshare in the guest's new namespace.
 */
async function applyPlan(deps: Deps, name: string, cfg: GuestConfig, interfaces: readonly InterfaceConfig[], host: IpSession): Promise<NetPlan> {
  const { paths } = deps;
  const [links, others] = await Promise.all([host.links(), otherGuests(deps, name)]);
  const plan = planFor(deps, name, cfg, interfaces, links, others);
  // the namespace is made while the state is written; teardown finds the namespace file without it
  const guest = new IpSession(newNetnsCommand(plan.netns));
  try {
    // recorded before the first change to the host, so that a teardown after any failure finds everything
    writeFileAtomic(paths.netState(name), JSON.stringify(plan), 0o600, { durable: false });
    host.send(bridgeSetup(plan, paths.netTag));
    await guest.query('link show dev lo', 'making the network namespace');
    await host.apply(deviceSetup(plan, paths.netTag));
    await Promise.all([guest.apply(guestSetup(plan)).then(() => guest.close()), host.close(), nftApply(nftSetup(plan))]);
  } finally {
    guest.kill();
  }
  enableForwarding(plan.forwarding.v4, plan.forwarding.v6);
  return plan;
}

/** The host's files for the guest's /etc, written under the bundle and bind-mounted read-only. */
function writeEtcFiles(deps: Deps, name: string, cfg: GuestConfig, plan: NetPlan | undefined, hostNetwork: boolean): OciMount[] {
  const dir = join(deps.paths.bundle(name), 'etc');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const files = etcFiles({
    hostname: cfg.hostname ?? name,
    addresses: plan?.interfaces.flatMap((i) => i.addresses) ?? [],
    nameservers: cfg.nameservers, search: cfg.search, hostNetwork,
    hostResolv: readIfExists('/etc/resolv.conf'), upstreamResolv: readIfExists('/run/systemd/resolve/resolv.conf'),
  });
  return files.map((f) => {
    const source = join(dir, f.path.slice('/etc/'.length));
    writeFileSync(source, f.text, { mode: 0o644 });
    return { destination: f.path, type: 'bind', source, options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] };
  });
}

/**
 * Takes down what a guest's network start left: NICs go back to the host, veths, nftables table,
 * namespace and bridges vserver made that have no members left. Safe to repeat; `removed` gets
 * what went, in words.
 */
export async function teardownNetwork(deps: Deps, name: string, removed: string[] = []): Promise<string[]> {
  const plan = readNetState(deps, name);
  const nsPath = deps.paths.netns(name);
  if (!plan && !existsSync(nsPath)) return [];
  return withLock(networkLock(deps), `taking down the network of ${name}`, async () => {
    const problems: string[] = [];
    if (plan) problems.push(...await undoPlan(deps, plan, removed));
    if (await removeNetns(nsPath)) removed.push('network namespace');
    rmSync(deps.paths.netState(name), { force: true });
    return problems;
  });
}

async function undoPlan(deps: Deps, plan: NetPlan, removed: string[]): Promise<string[]> {
  const problems: string[] = [];
  const tag = deps.paths.netTag;
  const back = guestTeardown(plan, process.pid);
  const phys = plan.interfaces.filter((i) => i.mode === 'phys');
  if (back.length > 0 && netnsMounted(plan.netns)) problems.push(...await ipBatch(back, { netns: plan.netns, force: true }));
  const links = await readLinks();
  for (const i of phys) {
    if (links.some((l) => l.name === i.parent)) removed.push(`NIC ${i.parent} given back to the host`);
    else problems.push(`NIC ${i.parent} did not come back to the host (the guest's network namespace was already gone)`);
  }
  const host = hostTeardown(plan, links, tag);
  problems.push(...await ipBatch(host.lines, { force: true }));
  removed.push(...host.removed);
  if (plan.nftTable && (await nftInetTables()).includes(plan.nftTable)) {
    await nftApply(nftRemove(plan.nftTable));
    removed.push(`nftables table ${plan.nftTable}`);
  }
  return problems;
}

function portText(p: string | PortForward): string {
  const f = typeof p === 'string' ? parsePortSpec(p)! : p;
  return `${f.hostPort}:${f.guestPort}/${f.proto}`;
}

/** What status and list show: the interfaces a running guest has, or else those configured. */
export function interfacesInfo(deps: Deps, name: string, cfg: GuestConfig, running: boolean): InterfaceInfo[] {
  const state = running ? readNetState(deps, name) : undefined;
  if (state) {
    return state.interfaces.map((i) => ({
      name: i.name, mode: i.mode, addresses: i.addresses, gateways: i.gateways, hostDevice: i.hostDevice, bridge: i.bridge,
      parent: i.parent, nat: i.nat || undefined,
      ports: i.ports.length > 0 ? i.ports.map(portText) : undefined,
    }));
  }
  const list = cfg.interfaces ?? [];
  return list.map((i, n) => {
    if (!DEVICE_MODES.includes(i.mode)) return { mode: i.mode, addresses: [] };
    const bridge = i.mode === 'bridge' ? i.bridge ?? deps.host().network.bridge : undefined;
    return {
      name: guestIfname(list, n), mode: i.mode,
      addresses: bridge && !i.address && !i.address6 ? ['auto'] : [i.address, i.address6].filter((a): a is string => a !== undefined),
      hostDevice: bridge ? hostVethName(deps.paths.instance, cfg.context, n) : undefined, bridge, parent: i.parent,
      nat: i.nat, ports: i.ports?.map(portText),
    };
  });
}

/** Guests that have a network state or namespace file, whether or not they still exist. */
export function networkLeftovers(deps: Deps): string[] {
  let ns: string[] = [];
  try {
    ns = readdirSync(deps.paths.netnsDir);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
  return [...new Set([...stateNames(deps), ...ns])];
}

/**
 * Removes this installation's devices and nftables tables whose guest is neither running nor has
 * a recorded state (which its own teardown handles), and the bridges vserver made that are empty.
 */
export async function sweepNetwork(deps: Deps, running: (name: string) => boolean): Promise<{ removed: string[]; problems: string[] }> {
  const tag = deps.paths.netTag;
  const orphan = (g: string | undefined) => g !== undefined && !running(g) && !existsSync(deps.paths.netState(g));
  return withLock(networkLock(deps), 'cleaning up networks', async () => {
    const removed: string[] = [];
    const links = await readLinks();
    const lines: BatchLine[] = [];
    const gone = new Set<string>();
    for (const l of links) {
      const g = aliasGuest(tag, l.alias);
      if (!orphan(g)) continue;
      lines.push({ cmd: `link del dev ${l.name}`, what: `device ${l.name}` });
      removed.push(`${l.kind ?? 'device'} ${l.name} of guest ${g}`);
      gone.add(l.name);
    }
    for (const b of links) {
      if (b.kind !== 'bridge' || b.alias !== bridgeAlias(tag)) continue;
      if (links.some((l) => l.master === b.name && !gone.has(l.name))) continue;
      lines.push({ cmd: `link del dev ${b.name}`, what: `bridge ${b.name}` });
      removed.push(`bridge ${b.name} (no members left)`);
    }
    const problems = await ipBatch(lines, { force: true });
    for (const t of await nftInetTables()) {
      if (!orphan(tableGuest(tag, t))) continue;
      await nftApply(nftRemove(t));
      removed.push(`nftables table ${t}`);
    }
    return { removed, problems };
  });
}
