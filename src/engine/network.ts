// A guest's network, set up before its init starts: checked against the host and the other guests, then made.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEVICE_MODES, type InterfaceConfig } from '../guest/net-schema.js';
import type { GuestConfig } from '../guest/schema.js';
import { collectClaims, type OtherGuest } from '../network/claims.js';
import { etcFiles } from '../network/etc.js';
import { IpSession } from '../network/ip-session.js';
import { enableForwarding, mountSysfs, newNetnsCommand } from '../network/netns.js';
import { nftApply } from '../network/nft.js';
import { planNetwork } from '../network/plan.js';
import { bridgeSetup, deviceSetup, guestSetup, nftSetup } from '../network/script.js';
import type { LinkFact, NetPlan } from '../network/types.js';
import type { OciMount } from '../runtime/oci-types.js';
import type { NetworkInput } from '../runtime/spec.js';
import { writeFileAtomic } from '../util/atomic.js';
import { readIfExists } from '../util/fs.js';
import { withLock } from '../util/lock.js';
import type { Deps } from './deps.js';
import { networkLock, readNetState, stateNames } from './network-state.js';
import { isActive } from './state.js';

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

/** Sets up the guest's network; returns what the spec needs of it (see withNetwork). */
export async function setupNetwork(deps: Deps, name: string, cfg: GuestConfig): Promise<NetworkInput> {
  const interfaces = cfg.interfaces ?? [];
  const mode = networkMode(interfaces);
  let plan: NetPlan | undefined;
  if (mode === 'own') {
    // Both ip processes start at once, the second through unshare in a new namespace of this guest's:
    // a file of its own under run/ that the host's network does not see, which teardown removes if
    // the checks fail. Only under the lock is the host's ip asked for the links.
    const host = new IpSession();
    const guest = new IpSession(newNetnsCommand(deps.paths.netns(name), deps.paths.sysfs(name)));
    try {
      plan = await withLock(networkLock(deps), `setting up the network of ${name}`, () => applyPlan(deps, name, cfg, interfaces, host, guest));
    } finally {
      host.kill();
      await guest.settle();
    }
  } else if (mode === 'host') {
    await mountSysfs(deps.paths.sysfs(name));
  }
  const mounts = writeEtcFiles(deps, name, cfg, plan, mode === 'host');
  return {
    netns: mode === 'host' ? 'host' : plan?.netns, mounts,
    sysfs: mode === 'none' ? undefined : deps.paths.sysfs(name),
  };
}

/**
 * Two ip processes do the whole set-up: one on the host side, which first reports the links the
 * plan is checked against, and one in the guest's new namespace.
 */
async function applyPlan(deps: Deps, name: string, cfg: GuestConfig, interfaces: readonly InterfaceConfig[],
  host: IpSession, guest: IpSession): Promise<NetPlan> {
  const { paths } = deps;
  const [links, others] = await Promise.all([host.links(), otherGuests(deps, name)]);
  const plan = planFor(deps, name, cfg, interfaces, links, others);
  // recorded before the first change to the host, so that a teardown after any failure finds everything
  writeFileAtomic(paths.netState(name), JSON.stringify(plan), 0o600, { durable: false });
  host.send(bridgeSetup(plan, paths.netTag));
  await guest.query('link show dev lo', 'making the network namespace');
  await host.apply(deviceSetup(plan, paths.netTag));
  host.release();
  await Promise.all([guest.apply(guestSetup(plan)), nftApply(nftSetup(plan))]);
  guest.release();
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
