// A guest's network, set up before its init runs: checked against the host and the other guests, then made.
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEVICE_MODES, type InterfaceConfig } from '../guest/net-schema.js';
import type { GuestConfig } from '../guest/schema.js';
import { collectClaims, type OtherGuest } from '../network/claims.js';
import { etcFiles } from '../network/etc.js';
import { batchText, NETNS_FD, wireHook, type Hook } from '../network/hook.js';
import { IpSession } from '../network/ip-session.js';
import { batchError, batchFailures, linkNames } from '../network/iproute.js';
import { hostVethName } from '../network/names.js';
import { enableForwarding, mountSysfs, setRouteLocalnet } from '../network/netns.js';
import { nftApply } from '../network/nft.js';
import { planNetwork } from '../network/plan.js';
import { bridgeSetup, deviceSetup, guestSetup, loopbackBridges, nftSetup } from '../network/script.js';
import type { LinkFact, NetPlan } from '../network/types.js';
import type { OciMount } from '../oci/types.js';
import type { NetworkInput } from '../runtime/spec.js';
import { writeFileAtomic } from '../util/atomic.js';
import { VsError } from '../util/errors.js';
import { readIfExists } from '../util/fs.js';
import { withLock } from '../util/lock.js';
import { which } from '../util/which.js';
import { traced, tracedSync } from '../util/trace.js';
import type { Deps } from './deps.js';
import { forgetHostFacts, hostFacts, hostFactsKept, type HostFacts } from './host-facts.js';
import { networkLock } from './network-state.js';
import { otherGuests, recordChanged } from './net-view.js';

/**
 * The config-time check, without looking at the host: addresses fit the bridge's subnet, and static
 * addresses, forwarded ports and NICs are not another guest's. Start checks all of it again.
 */
export async function checkNetworkConfig(deps: Deps, name: string, cfg: GuestConfig): Promise<void> {
  const interfaces = cfg.interfaces ?? [];
  if (networkMode(interfaces) !== 'own') return;
  planFor(deps, name, cfg, interfaces, undefined, await otherGuests(deps, name));
}

function planFor(
  deps: Deps,
  name: string,
  cfg: GuestConfig,
  interfaces: readonly InterfaceConfig[],
  links: LinkFact[] | undefined,
  others: OtherGuest[],
  localAddresses?: HostLinks['local'],
): NetPlan {
  const { paths } = deps;
  const host = deps.host().network;
  return planNetwork({
    file: paths.guestConfig(name),
    guest: name,
    context: cfg.context,
    instance: paths.instance,
    tag: paths.netTag,
    netns: paths.netns(name),
    interfaces,
    host,
    links,
    localAddresses,
    claims: collectClaims(others, host),
    bridgeGuests: bridgeGuests(others),
  });
}

/** Interfaces of recorded guests on each bridge: the ports they hold, or are about to take. */
function bridgeGuests(others: readonly OtherGuest[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of others) for (const b of o.bridges ?? []) out.set(b, (out.get(b) ?? 0) + 1);
  return out;
}

function networkMode(interfaces: readonly InterfaceConfig[]): 'none' | 'host' | 'own' {
  if (interfaces.some((i) => i.mode === 'host')) return 'host';
  return interfaces.some((i) => DEVICE_MODES.includes(i.mode)) ? 'own' : 'none';
}

export interface PreparedNetwork extends NetworkInput {
  /** Why the start failed, if it was the wiring of the network: read once the runtime gave up. */
  explain(): VsError | undefined;
}

/**
 * Checks the guest's network against the host and the other guests, and makes what does not need
 * the guest's namespace yet (bridges, nftables rules, the /etc files). The namespace itself is made
 * by the runtime and wired up by a hook before init runs; returns what the spec needs (withNetwork).
 */
/**
 * owner: the host id of the guest's root, who owns the /etc files the host provides; counts: the
 * NAME=VALUE counts of the guest's user namespace, which the wiring hook sets as it goes in.
 */
export async function setupNetwork(
  deps: Deps,
  name: string,
  cfg: GuestConfig,
  owner: number,
  counts: readonly string[] = [],
): Promise<PreparedNetwork> {
  const interfaces = cfg.interfaces ?? [];
  const mode = networkMode(interfaces);
  let plan: NetPlan | undefined;
  let wiring: Wiring | undefined;
  if (mode === 'own') {
    // started (or taken from an earlier start of this process) while the lock is taken; asked for the
    // links only once it is held; not at all when the host's facts are kept and no bridge needs a line
    const ip = new LazyIp();
    if (!hostFactsKept(deps)) ip.get();
    try {
      plan = await traced(`network ${name}: lock, plan, bridge`, () =>
        withLock(networkLock(deps), `setting up the network of ${name}`, () => prepare(deps, name, cfg, interfaces, ip)),
      );
    } finally {
      ip.kill();
    }
    wiring = tracedSync(`network ${name}: hook batches`, () => writeWiring(deps, name, plan!, counts));
    await nftApply(nftSetup(plan));
    // only once the table that keeps guests off the host's loopback is in place
    for (const b of loopbackBridges(plan)) setRouteLocalnet(b, true);
    enableForwarding(plan.forwarding.v4, plan.forwarding.v6);
  } else if (mode === 'host') {
    await mountSysfs(deps.paths.sysfs(name));
  }
  return {
    netns: mode === 'host' ? 'host' : undefined,
    mounts: writeEtcFiles(deps, name, cfg, plan, mode === 'host', owner),
    sysfs: mode === 'host' ? deps.paths.sysfs(name) : undefined,
    hooks: wiring ? [wiring.hook] : [],
    explain: () => wiring?.explain(),
  };
}

async function prepare(deps: Deps, name: string, cfg: GuestConfig, interfaces: readonly InterfaceConfig[], ip: LazyIp): Promise<NetPlan> {
  const [links, others] = await Promise.all([
    traced(`network ${name}: ip links`, () => hostLinks(deps, cfg, interfaces, ip.get)),
    traced(`network ${name}: other guests`, () => otherGuests(deps, name, false, true)),
  ]);
  let plan: NetPlan;
  try {
    plan = planFor(deps, name, cfg, interfaces, links.links, others, links.local);
  } catch (e) {
    if (!(e instanceof VsError)) throw e;
    // refused: planned again knowing which guests run, for the right words
    plan = planFor(deps, name, cfg, interfaces, links.links, await otherGuests(deps, name), links.local);
  }
  // recorded before the first change, so that a teardown after any failure finds everything, and
  // so that no other guest's teardown removes a bridge this guest is about to join
  writeFileAtomic(deps.paths.netState(name), JSON.stringify(plan), 0o600, { durable: false });
  recordChanged(deps, name, plan);
  const lines = bridgeSetup(plan, deps.paths.netTag);
  // a NIC given to a guest takes its addresses off the host
  if (lines.length > 0 || interfaces.some((i) => i.mode === 'phys')) forgetHostFacts(deps);
  if (lines.length > 0) await traced(`network ${name}: bridge lines`, () => ip.get().apply(lines));
  ip.park();
  return plan;
}

/** An ip session of this process, taken when first asked for. */
class LazyIp {
  private session: IpSession | undefined;
  readonly get = (): IpSession => (this.session ??= IpSession.take());
  park(): void {
    this.session?.park();
  }
  kill(): void {
    this.session?.kill();
  }
}

interface HostLinks {
  links: LinkFact[];
  local?: HostFacts['local'];
}

/**
 * The host's links a plan looks at. Guests only on bridges need the bridges, the host's addresses
 * and whether the names they would take are free, not every link: at a thousand guests the dump of
 * every link is most of a start. Only when such a name is taken are all links read, for the message.
 */
async function hostLinks(deps: Deps, cfg: GuestConfig, interfaces: readonly InterfaceConfig[], ip: () => IpSession): Promise<HostLinks> {
  if (interfaces.some((i) => DEVICE_MODES.includes(i.mode) && i.mode !== 'bridge')) return { links: await ip().links() };
  const { bridges, local } = await hostFacts(deps, ip);
  const known = new Set(bridges.map((b) => b.name));
  const present = linkNames();
  const taken = interfaces.some((i, index) => {
    if (i.mode !== 'bridge') return false;
    const bridge = i.bridge ?? deps.host().network.bridge;
    return present.has(hostVethName(deps.paths.instance, cfg.context, index)) || (!known.has(bridge) && present.has(bridge));
  });
  return taken ? { links: await ip().links() } : { links: bridges, local };
}

interface Wiring {
  hook: Hook;
  explain(): VsError | undefined;
}

/** The hook's batches under the bundle: devices created in or moved into the namespace, then configured inside it. */
function writeWiring(deps: Deps, name: string, plan: NetPlan, counts: readonly string[]): Wiring {
  const dir = join(deps.paths.bundle(name), 'net');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // only a NIC given to the guest needs its namespace kept after the guest's processes, to come back
  // from it; other devices die with the namespace, which then needs no mount (and no umount) of ours
  const bind = plan.interfaces.some((i) => i.mode === 'phys');
  const files = {
    netns: bind ? plan.netns : undefined,
    hostBatch: join(dir, 'host.batch'),
    guestBatch: join(dir, 'guest.batch'),
    errors: join(dir, 'errors'),
  };
  const host = deviceSetup(plan, deps.paths.netTag, NETNS_FD);
  const guest = guestSetup(plan);
  writeFileSync(files.hostBatch, batchText(host));
  writeFileSync(files.guestBatch, batchText(guest));
  if (bind) {
    mkdirSync(deps.paths.netnsDir, { recursive: true, mode: 0o700 });
    writeFileSync(plan.netns, ''); // the bind mount needs a file to cover
  }
  return {
    hook: wireHook(which('sh') ?? '/bin/sh', files, counts),
    explain: () => {
      const text = readIfExists(files.errors)?.trim();
      return text ? batchError(batchFailures(text, guest, { [files.hostBatch]: host })) : undefined;
    },
  };
}

/** Starts the guest's init; a failure of the network's wiring is told as such. */
export async function launch(net: PreparedNetwork, start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (e) {
    throw net.explain() ?? e;
  }
}

/** The host's files for the guest's /etc, written under the bundle and bind-mounted read-only. */
function writeEtcFiles(
  deps: Deps,
  name: string,
  cfg: GuestConfig,
  plan: NetPlan | undefined,
  hostNetwork: boolean,
  owner: number,
): OciMount[] {
  const dir = join(deps.paths.bundle(name), 'etc');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const files = etcFiles({
    hostname: cfg.hostname ?? name,
    addresses: plan?.interfaces.flatMap((i) => i.addresses) ?? [],
    nameservers: cfg.nameservers,
    search: cfg.search,
    hostNetwork,
    hostResolv: readIfExists('/etc/resolv.conf'),
    upstreamResolv: readIfExists('/run/systemd/resolve/resolv.conf'),
  });
  return files.map((f) => {
    const source = join(dir, f.path.slice('/etc/'.length));
    writeFileSync(source, f.text, { mode: 0o644 });
    // the guest sees them as its root's own files, like the rest of its /etc
    chownSync(source, owner, owner);
    return { destination: f.path, type: 'bind', source, options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] };
  });
}
