// What the other guests hold on the network (addresses, host ports, NICs, bridge ports), from their
// configs (through the guest index) and recorded starts (kept between runs keyed on each file's
// identity), so that a start parses only what changed, not every other guest's files.
import { configHolds, stateHolds, type Held, type OtherGuest } from '../network/claims.js';
import { loopbackBridges } from '../network/script.js';
import { keptCache } from '../util/file-cache.js';
import { isStrings } from '../util/guards.js';
import type { Deps } from './deps.js';
import { isStateFile, parseNetState, stateName } from './network-state.js';
import { isActive } from './state.js';

/** What a recorded start holds: its claims, the bridge of each interface on one, the bridges it forwards loopback on. */
interface StateHolds {
  held: Held[];
  bridges: string[];
  loopback: string[];
}

const isHeld = (v: unknown): v is Held[] => Array.isArray(v) && v.every((h) => isStrings(h) && (h.length === 1 || h.length === 2));
const isStateHolds = (v: unknown): v is StateHolds => {
  const s = v as Partial<StateHolds> | null;
  return typeof s === 'object' && s !== null && isHeld(s.held) && isStrings(s.bridges) && isStrings(s.loopback);
};

/** How long a process reuses the configs' claims: a bulk start of a thousand guests would stat every config for each. */
const CONFIGS_FOR_MS = 1000;
const recent = new WeakMap<Deps, { at: number; claims: Map<string, Held[]> }>();

/**
 * Each guest's config claims, by name, from the guest index (a broken config claims nothing; it is
 * reported where it is read). A claim edited into a config in the last second may be missed: what
 * running guests hold is always read afresh, so that guest's own start then says what is taken.
 */
function configs(deps: Deps, reuse: boolean): Map<string, Held[]> {
  const hit = reuse ? recent.get(deps) : undefined;
  if (hit && performance.now() - hit.at < CONFIGS_FOR_MS) return hit.claims;
  const claims = new Map<string, Held[]>();
  for (const g of deps.store.summaries()) claims.set(g.name, g.summary ? configHolds(g.summary.interfaces ?? []) : []);
  recent.set(deps, { at: performance.now(), claims });
  return claims;
}

/**
 * What each recorded start holds, by name; a damaged record refuses, naming the file. Records are
 * only ever replaced whole or removed, so an unchanged directory of them needs no look at each.
 */
function states(deps: Deps): Map<string, StateHolds> {
  const cache = keptCache(deps.paths.netHolds, isStateHolds);
  const found = cache.scan(deps.paths.netStateDir, isStateFile, (file, text) => {
    const plan = parseNetState(deps, stateName(file), text);
    return {
      held: stateHolds(plan),
      bridges: plan.interfaces.flatMap((i) => (i.bridge ? [i.bridge] : [])),
      loopback: loopbackBridges(plan),
    };
  });
  cache.save();
  return new Map([...found].map(([file, held]) => [stateName(file), held]));
}

/**
 * Every other guest with what it holds: its config, and what its last start set up if that is still
 * there. Whether it runs only changes the words of a refusal: without `precise` every guest is taken
 * as running, which spares a start reading the runtime's state of every other guest. `starting`: for
 * a start's first plan, which may take the configs' claims as this process read them in the last
 * second (a refused plan is made again from fresh ones, and config checks always read them).
 */
export async function otherGuests(deps: Deps, name: string, precise = true, starting = false): Promise<OtherGuest[]> {
  const running = precise ? new Set((await (await deps.runtime()).list()).filter(isActive).map((s) => s.id)) : undefined;
  const active = (n: string) => running?.has(n) ?? true;
  const out = new Map<string, OtherGuest>();
  for (const [n, config] of configs(deps, starting)) if (n !== name) out.set(n, { name: n, config, active: active(n) });
  for (const [n, s] of states(deps)) {
    if (n === name) continue;
    const o = out.get(n) ?? { name: n, config: [], active: active(n) };
    out.set(n, { ...o, state: s.held, bridges: s.bridges });
  }
  return [...out.values()];
}

/** Bridges named by the recorded plans of guests other than `except`: a starting guest joins its bridge only after its runtime made its namespace. */
export function bridgesInUse(deps: Deps, except?: string): Set<string> {
  const out = new Set<string>();
  for (const [n, s] of states(deps)) if (n !== except) for (const b of s.bridges) out.add(b);
  return out;
}

/** Bridges on which a recorded guest other than `except` forwards ports from the host's loopback. */
export function loopbackInUse(deps: Deps, except?: string): Set<string> {
  const out = new Set<string>();
  for (const [n, s] of states(deps)) if (n !== except) for (const b of s.loopback) out.add(b);
  return out;
}
