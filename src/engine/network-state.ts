// Where a guest's network start is recorded, and the lock all network changes take turns under.
import { basename, join } from 'node:path';
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
  return states.get(deps.paths.netState(name), (text) => parseNetState(deps, name, text));
}

/** A guest's recorded plan from the text of its file; a damaged one is named, with what to do. */
export function parseNetState(deps: Deps, name: string, text: string): NetPlan {
  const file = deps.paths.netState(name);
  return parseJsonFile(
    NetPlanSchema,
    text,
    `the network state ${file}`,
    `it records what the start of '${name}' set up; take that down by hand (ip link, nft list tables), then remove the file`,
  );
}

/** A guest's record in the directory of records (NAME.json); not the temporary files of a write. */
export const isStateFile = (entry: string) => entry.endsWith('.json');

/** The guest a record's file is of. */
export const stateName = (file: string) => basename(file, '.json');

export function stateNames(deps: Deps): string[] {
  return readdirIfExists(deps.paths.netStateDir).filter(isStateFile).map(stateName);
}
