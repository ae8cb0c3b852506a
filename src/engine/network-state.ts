// Where a guest's network start is recorded, and the lock all network changes take turns under.
import { join } from 'node:path';
import { loopbackBridges } from '../network/script.js';
import { NetPlanSchema } from '../network/state-schema.js';
import type { NetPlan } from '../network/types.js';
import { FileCache } from '../util/file-cache.js';
import { readdirIfExists } from '../util/fs.js';
import { parseJsonFile } from '../util/json.js';
import type { Deps } from './deps.js';

/** Network set-up and teardown of all guests take turns: they share bridges and the address pool. */
export const networkLock = (deps: Deps) => join(deps.paths.locks, '.network');

/** Recorded plans, parsed once while unchanged: every start and stop reads all of them. */
const states = new FileCache<NetPlan>();

export function readNetState(deps: Deps, name: string): NetPlan | undefined {
  const file = deps.paths.netState(name);
  return states.get(file, (text) =>
    parseJsonFile(
      NetPlanSchema,
      text,
      `the network state ${file}`,
      `it records what the start of '${name}' set up; take that down by hand (ip link, nft list tables), then remove the file`,
    ),
  );
}

export function stateNames(deps: Deps): string[] {
  return readdirIfExists(deps.paths.netStateDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5));
}

/** Bridges named by the recorded plans of guests other than `except`: a starting guest joins its bridge only after its runtime made its namespace. */
export function bridgesInUse(deps: Deps, except?: string): Set<string> {
  const out = new Set<string>();
  for (const n of stateNames(deps)) {
    if (n === except) continue;
    for (const i of readNetState(deps, n)?.interfaces ?? []) if (i.bridge) out.add(i.bridge);
  }
  return out;
}

/** Bridges on which a recorded guest other than `except` forwards ports from the host's loopback. */
export function loopbackInUse(deps: Deps, except?: string): Set<string> {
  const out = new Set<string>();
  for (const n of stateNames(deps)) {
    const plan = n === except ? undefined : readNetState(deps, n);
    if (plan) for (const b of loopbackBridges(plan)) out.add(b);
  }
  return out;
}
