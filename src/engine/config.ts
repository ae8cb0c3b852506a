// Reading and changing one guest's configuration file, key by key, validated before it is written.
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { getKey, setPath, toToml, validate } from '../guest/config.js';
export { getKey, parseValue, setPath } from '../guest/config.js';
import { checkName } from '../guest/name.js';
import { GuestConfigSchema, type GuestConfig } from '../guest/schema.js';
import { writeFileAtomic } from '../util/atomic.js';
import { VsError } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import type { Deps } from './deps.js';
import { checkNetworkConfig } from './network.js';
import { changeContext } from './reserve.js';
import { finishPending, reown } from './reown.js';
import { guestIds, isActive } from './state.js';

/** Keys that describe how the tree is stored; changing them would need another tree. */
const FIXED_KEYS = ['backend', 'template', 'isolated'];

export function showConfig(deps: Deps, name: string): GuestConfig {
  return deps.store.read(checkName(name));
}

/** Sets (or with value undefined, removes) one key; returns the new configuration. */
export function setConfig(deps: Deps, name: string, key: string, value: unknown): Promise<GuestConfig> {
  checkName(name);
  return withLock(deps.paths.lock(name), `vserver config ${name}`, async () => {
    // a move of the tree that a crash interrupted is finished before anything else changes
    await finishPending(deps, name);
    const old = deps.store.read(name);
    const file = deps.paths.guestConfig(name);
    const raw = parseToml(readFileSync(file, 'utf8')) as Record<string, unknown>;
    setPath(raw, key.split('.'), value);
    const cfg = validate(file, GuestConfigSchema, raw);
    if (key.split('.')[0] === 'interfaces') await checkNetworkConfig(deps, name, cfg);
    if (FIXED_KEYS.includes(key.split('.')[0]!) && JSON.stringify(getKey(old, key)) !== JSON.stringify(getKey(cfg, key))) {
      throw new VsError('INVALID_VALUE', `${key} is fixed when the guest is built (it says how its tree is stored)`,
        `build a new guest instead, for example 'vserver build NEW --clone ${name}' or with --backend/--isolated`);
    }
    if (key !== 'context' && key !== 'privileged') {
      writeFileAtomic(file, toToml(raw));
      return cfg;
    }
    // the tree's owners follow the guest's id range, so these keys change files, not just the config
    if (isActive(await (await deps.runtime()).state(name))) {
      throw new VsError('ALREADY_RUNNING', `guest '${name}' is running; ${key} can only change while it is stopped`,
        `stop it first with 'vserver stop ${name}'`);
    }
    // recorded before the first file moves, so that a crash can be finished (reown.ts)
    const move = () => reown(deps, name, {
      key, value: key === 'context' ? cfg.context : cfg.privileged === true, from: guestIds(deps, old), to: guestIds(deps, cfg),
      started: new Date().toISOString(),
    });
    if (key === 'privileged') {
      move();
      return cfg;
    }
    return changeContext(deps, name, old.context, cfg.context, () => {
      move();
      return cfg;
    });
  });
}

export function unknownKey(key: string): VsError {
  return new VsError('NOT_FOUND', `key '${key}' is not set in this guest's configuration`, "run 'vserver config NAME' to see the keys that are set");
}
