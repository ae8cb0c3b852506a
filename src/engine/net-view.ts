// What the other guests hold on the network (addresses, host ports, NICs, bridge ports), from their
// configs (through the guest index) and recorded starts (kept between runs keyed on each file's
// identity), so that a start parses only what changed, not every other guest's files.
import { configHolds, stateHolds, type Held, type OtherGuest } from '../network/claims.js';
import { loopbackBridges } from '../network/script.js';
import { keptCache } from '../util/file-cache.js';
import { writeFileAtomic } from '../util/atomic.js';
import { readIfExists } from '../util/fs.js';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { NetPlan } from '../network/types.js';
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
  // read before the records: a change between the two only makes the next look read them again
  const gen = readIfExists(deps.paths.netGeneration);
  const kept = held.get(deps);
  if (kept && gen !== undefined && kept.gen === gen) return kept.states;
  const cache = keptCache(deps.paths.netHolds, isStateHolds);
  const found = cache.scan(deps.paths.netStateDir, isStateFile, (file, text) => holdsOf(parseNetState(deps, stateName(file), text)));
  cache.save();
  const out = new Map([...found].map(([file, h]) => [stateName(file), h]));
  if (gen !== undefined) held.set(deps, { gen, states: out });
  return out;
}

function holdsOf(plan: NetPlan): StateHolds {
  return { held: stateHolds(plan), bridges: plan.interfaces.flatMap((i) => (i.bridge ? [i.bridge] : [])), loopback: loopbackBridges(plan) };
}

/**
 * The records as this process last read them, with the generation they were read at. Records are
 * written and removed only under the network lock, each change with a new generation, so a start
 * (under the lock) that finds the generation it knows needs no look at a thousand records.
 */
const held = new WeakMap<Deps, { gen: string; states: Map<string, StateHolds> }>();
let changes = 0;

/** The generations this process moved the records through since another process last did, newest last. */
const ownRun = new WeakMap<Deps, string[]>();
const OWN_RUN_MAX = 4096;

/** The records' generation now: a new one after every change of a record, by any process. */
export function recordsGeneration(deps: Deps): string | undefined {
  return readIfExists(deps.paths.netGeneration);
}

/** Whether the records' generation is still `gen`, or moved on from it only by this process's own changes. */
export function onlyOwnChangesSince(deps: Deps, gen: string): boolean {
  const now = recordsGeneration(deps);
  if (now === undefined) return false;
  if (now === gen) return true;
  const run = ownRun.get(deps);
  return run !== undefined && run[run.length - 1] === now && run.includes(gen);
}

function followOwn(deps: Deps, before: string | undefined, next: string): void {
  const run = ownRun.get(deps);
  if (run && before !== undefined && run[run.length - 1] === before) {
    run.push(next);
    if (run.length > OWN_RUN_MAX) run.splice(0, run.length - OWN_RUN_MAX);
  } else ownRun.set(deps, before === undefined ? [next] : [before, next]);
}

/** After the record of `name` was written (plan) or removed (undefined), under the network lock: a new generation. */
export function recordChanged(deps: Deps, name: string, plan: NetPlan | undefined): void {
  const before = readIfExists(deps.paths.netGeneration);
  const next = `${process.pid}.${++changes}.${Date.now()}`;
  try {
    mkdirSync(dirname(deps.paths.netGeneration), { recursive: true, mode: 0o700 });
    writeFileAtomic(deps.paths.netGeneration, next, 0o600, { durable: false });
  } catch {
    // no room for it (a full /run): without a generation, every process reads the records each time
    rmSync(deps.paths.netGeneration, { force: true });
    held.delete(deps);
    ownRun.delete(deps);
    return;
  }
  followOwn(deps, before, next);
  const kept = held.get(deps);
  // this process's view follows its own change, if nobody else's came between
  if (kept && before !== undefined && kept.gen === before) {
    if (plan) kept.states.set(name, holdsOf(plan));
    else kept.states.delete(name);
    kept.gen = next;
  } else held.delete(deps);
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
