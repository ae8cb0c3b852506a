// Taking a guest's network down after it ran (or died), and sweeping what no guest owns any more.
import { existsSync, rmSync } from 'node:fs';
import { ipBatch, readLinks } from '../network/iproute.js';
import { readNamedLinks } from '../network/ip-session.js';
import { aliasGuest, bridgeAlias, tableGuest } from '../network/names.js';
import { netnsMounted, removeNetns, setRouteLocalnet } from '../network/netns.js';
import { nftApply, nftInetTables } from '../network/nft.js';
import { emptyBridges, guestTeardown, hostTeardown, loopbackBridges, nftRemove, type BatchLine } from '../network/script.js';
import type { NetPlan } from '../network/types.js';
import { readdirIfExists } from '../util/fs.js';
import { withLock } from '../util/lock.js';
import { sleep } from '../util/proc.js';
import { traced } from '../util/trace.js';
import type { Deps } from './deps.js';
import { forgetHostFacts } from './host-facts.js';
import { networkLock, readNetState, stateNames } from './network-state.js';
import { bridgesInUse, loopbackInUse, recordChanged } from './net-view.js';

/**
 * Takes down what a guest's network start left: NICs go back to the host, veths, nftables table,
 * namespace and bridges vserver made that have no members left. Safe to repeat; `removed` gets
 * what went, in words.
 */
export async function teardownNetwork(deps: Deps, name: string, removed: string[] = []): Promise<string[]> {
  const plan = readNetState(deps, name);
  const nsPath = deps.paths.netns(name);
  const sysDir = deps.paths.sysfs(name);
  if (!plan && !existsSync(nsPath) && !existsSync(sysDir)) return [];
  const own = plan ? await traced(`network ${name}: own veths`, () => removeOwnVeths(deps, plan, removed)) : undefined;
  return withLock(networkLock(deps), `taking down the network of ${name}`, async () => {
    const problems: string[] = [...(own ?? [])];
    if (plan)
      problems.push(...(await traced(`network ${name}: devices (in the lock)`, () => undoPlan(deps, plan, removed, own !== undefined))));
    if (await traced(`network ${name}: namespace (in the lock)`, () => removeNetns(nsPath, sysDir))) removed.push('network namespace');
    rmSync(deps.paths.netState(name), { force: true });
    recordChanged(deps, name, undefined);
    return problems;
  });
}

/**
 * A guest only on bridges: its own veths go before the host-wide lock is taken, as their names are
 * its own; in a bulk stop the kernel's removal of one guest's then overlaps other guests' teardowns.
 * Returns what could not be removed, or undefined when the guest has other interfaces (all in the lock).
 */
async function removeOwnVeths(deps: Deps, plan: NetPlan, removed: string[]): Promise<string[] | undefined> {
  if (!plan.interfaces.every((i) => i.mode === 'bridge' && i.hostDevice !== undefined)) return undefined;
  const names = plan.interfaces.map((i) => i.hostDevice!);
  // with the guest's processes gone its namespace goes, and the kernel takes each pair with it, in
  // one batch for many namespaces: far cheaper than deleting them one by one, which is left for a
  // namespace that something still holds
  if (!netnsMounted(plan.netns) && (await vanished(names, VANISH_WAIT_MS))) return [];
  const links = await readNamedLinks(names);
  // which bridges are left empty is decided in the lock
  const bridges = new Set(plan.interfaces.map((i) => i.bridge).filter((b): b is string => b !== undefined));
  const host = hostTeardown(plan, links, deps.paths.netTag, bridges);
  removed.push(...host.removed);
  return ipBatch(host.lines, { force: true });
}

/** How long the kernel may take to remove a dead namespace's veths before they are deleted by name. */
const VANISH_WAIT_MS = 500;

/**
 * Waits until none of the devices is left in this network namespace, or the time is up; true when
 * none is (a host without IPv4's /proc/sys/net entries cannot tell, and gets false).
 */
async function vanished(devices: readonly string[], ms: number): Promise<boolean> {
  if (!existsSync('/proc/sys/net/ipv4/conf')) return false;
  const until = Date.now() + ms;
  // a device's entry under /proc/sys/net goes as it is unregistered, and looking costs no netlink dump
  const present = (d: string) => existsSync(`/proc/sys/net/ipv4/conf/${d}`);
  for (;;) {
    if (!devices.some(present)) return true;
    if (Date.now() >= until) return false;
    await sleep(10);
  }
}

/** `vethsDone`: removeOwnVeths has taken the guest's veths away already. */
async function undoPlan(deps: Deps, plan: NetPlan, removed: string[], vethsDone: boolean): Promise<string[]> {
  const problems: string[] = [];
  const tag = deps.paths.netTag;
  const back = guestTeardown(plan, process.pid);
  const phys = plan.interfaces.filter((i) => i.mode === 'phys');
  const alive = netnsMounted(plan.netns);
  if (back.length > 0 && alive) problems.push(...(await ipBatch(back, { netns: plan.netns, force: true })));
  const keep = bridgesInUse(deps, plan.guest);
  // guests only on bridges other guests keep need only their own devices looked at
  const onKeptBridges = plan.interfaces.every((i) => i.mode === 'bridge' && i.bridge !== undefined && keep.has(i.bridge));
  const links = onKeptBridges ? (vethsDone ? [] : await readNamedLinks(plan.interfaces.map((i) => i.hostDevice!))) : await readLinks();
  for (const i of phys) {
    if (links.some((l) => l.name === i.parent)) removed.push(`NIC ${i.parent} given back to the host`);
    else problems.push(`NIC ${i.parent} did not come back to the host${alive ? '' : " (the guest's network namespace was already gone)"}`);
  }
  const host = hostTeardown(plan, links, tag, keep);
  // a bridge gone, or a NIC back with its addresses: the next start of this process reads the host again
  if (host.lines.length > 0 || phys.length > 0) forgetHostFacts(deps);
  problems.push(...(await ipBatch(host.lines, { force: true })));
  removed.push(...host.removed);
  if (plan.nftTable && (await nftInetTables()).includes(plan.nftTable)) {
    await nftApply(nftRemove(plan.nftTable));
    removed.push(`nftables table ${plan.nftTable}`);
  }
  // the last forward from loopback on a bridge takes route_localnet with it, with the rule that guarded it
  const still = loopbackInUse(deps, plan.guest);
  for (const b of loopbackBridges(plan)) if (!still.has(b)) setRouteLocalnet(b, false);
  return problems;
}

/** Guests that have a network state or namespace file, whether or not they still exist. */
export function networkLeftovers(deps: Deps): string[] {
  return [...new Set([...stateNames(deps), ...readdirIfExists(deps.paths.netnsDir), ...readdirIfExists(deps.paths.sysfsDir)])];
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
    const bridges = links.filter((b) => b.kind === 'bridge' && b.alias === bridgeAlias(tag)).map((b) => b.name);
    // the last bridges of a spill chain first, so that the ones before them are seen empty after
    const empty = emptyBridges(
      links,
      tag,
      bridges.sort((a, b) => b.length - a.length || b.localeCompare(a)),
      bridgesInUse(deps),
      gone,
    );
    lines.push(...empty.lines);
    removed.push(...empty.removed);
    if (lines.length > 0) forgetHostFacts(deps);
    const problems = await ipBatch(lines, { force: true });
    const forwarding = loopbackInUse(deps);
    for (const b of links)
      if (b.kind === 'bridge' && b.alias === bridgeAlias(tag) && !gone.has(b.name) && !forwarding.has(b.name))
        setRouteLocalnet(b.name, false);
    for (const t of await nftInetTables()) {
      if (!orphan(tableGuest(tag, t))) continue;
      await nftApply(nftRemove(t));
      removed.push(`nftables table ${t}`);
    }
    return { removed, problems };
  });
}
