// A guest's network, set up before its init runs: checked against the host and the other guests, then made.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEVICE_MODES, type InterfaceConfig } from '../guest/net-schema.js';
import type { GuestConfig } from '../guest/schema.js';
import { collectClaims, type OtherGuest } from '../network/claims.js';
import { etcFiles } from '../network/etc.js';
import { IpSession } from '../network/ip-session.js';
import { enableForwarding, keepNetnsCommand, mountSysfs } from '../network/netns.js';
import { nftApply } from '../network/nft.js';
import { planNetwork } from '../network/plan.js';
import { bridgeSetup, deviceSetup, guestSetup, nftSetup } from '../network/script.js';
import type { LinkFact, NetPlan } from '../network/types.js';
import type { OciMount } from '../runtime/oci-types.js';
import type { NetworkInput } from '../runtime/spec.js';
import type { ExecIO, Runtime } from '../runtime/types.js';
import { writeFileAtomic } from '../util/atomic.js';
import { VsError } from '../util/errors.js';
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

export interface PreparedNetwork extends NetworkInput {
  /** For a namespace of its own, made by the runtime: wires it up once the guest's init exists. */
  attach?: (pid: number) => Promise<void>;
  /** Lets go of what attach would have used, when the start gives up before it. */
  dispose(): void;
}

/**
 * Checks the guest's network against the host and the other guests, and makes what does not need
 * the guest's namespace yet (bridges, the /etc files); returns what the spec needs (see withNetwork).
 */
export async function setupNetwork(deps: Deps, name: string, cfg: GuestConfig): Promise<PreparedNetwork> {
  const interfaces = cfg.interfaces ?? [];
  const mode = networkMode(interfaces);
  let plan: NetPlan | undefined;
  let host: IpSession | undefined;
  let guest: IpSession | undefined;
  if (mode === 'own') {
    host = new IpSession(); // starts while the lock is taken; asked for the links only once it is held
    try {
      plan = await withLock(networkLock(deps), `setting up the network of ${name}`, () => prepare(deps, name, cfg, interfaces, host!));
    } catch (e) {
      host.kill();
      throw e;
    }
    // the guest side starts now and waits for the namespace the runtime is about to make
    guest = new IpSession(keepNetnsCommand(plan.netns));
  } else if (mode === 'host') {
    await mountSysfs(deps.paths.sysfs(name));
  }
  const dispose = () => {
    host?.kill();
    guest?.kill();
  };
  let mounts: OciMount[];
  try {
    mounts = writeEtcFiles(deps, name, cfg, plan, mode === 'host');
  } catch (e) {
    dispose();
    throw e;
  }
  return {
    netns: mode === 'host' ? 'host' : undefined, mounts,
    sysfs: mode === 'host' ? deps.paths.sysfs(name) : undefined,
    attach: plan && host && guest ? (pid) => attach(deps, plan!, host!, guest!, pid) : undefined,
    dispose,
  };
}

async function prepare(deps: Deps, name: string, cfg: GuestConfig, interfaces: readonly InterfaceConfig[], host: IpSession): Promise<NetPlan> {
  const [links, others] = await Promise.all([host.links(), otherGuests(deps, name)]);
  const plan = planFor(deps, name, cfg, interfaces, links, others);
  // recorded before the first change, so that a teardown after any failure finds everything, and
  // so that no other guest's teardown removes a bridge this guest is about to join
  writeFileAtomic(deps.paths.netState(name), JSON.stringify(plan), 0o600, { durable: false });
  await host.apply(bridgeSetup(plan, deps.paths.netTag));
  return plan;
}

/**
 * Wires up the namespace the runtime made for the guest (owned by the guest's user namespace when
 * it has one), before its init runs: the namespace is bound to its file so that it outlives the
 * guest, the host side creates or moves the devices into it, and an ip inside configures them.
 * The caller disposes of both ip processes if this fails.
 */
async function attach(deps: Deps, plan: NetPlan, host: IpSession, guest: IpSession, pid: number): Promise<void> {
  guest.tell(String(pid));
  // the devices go in by the init's path while the namespace is being bound to its file
  await Promise.all([
    guest.query('link show dev lo', 'keeping the network namespace'),
    host.apply(deviceSetup(plan, deps.paths.netTag, `/proc/${pid}/ns/net`)),
  ]);
  host.release();
  await Promise.all([guest.apply(guestSetup(plan)), nftApply(nftSetup(plan))]);
  guest.release();
  enableForwarding(plan.forwarding.v4, plan.forwarding.v6);
}

/** Starts the guest's init: a guest with a namespace of its own is created, wired up, then started. */
export async function launch(rt: Runtime, name: string, bundle: string, io: ExecIO, net: PreparedNetwork): Promise<void> {
  try {
    if (!net.attach) return await rt.run(name, bundle, io);
    await rt.create(name, bundle, io);
    const st = await rt.state(name);
    if (!st || st.pid <= 0) {
      throw new VsError('RUNTIME_FAILED', `${rt.name} created guest '${name}' but reports no init process`, `read ${bundle}/config.json and the guest's log`);
    }
    await net.attach(st.pid);
    await rt.start(name);
  } finally {
    net.dispose();
  }
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
