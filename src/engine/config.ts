// Reading and changing one guest's configuration file, key by key, validated before it is written.
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { toToml, validate } from '../guest/config.js';
export { parseValue } from '../guest/config.js';
import { checkName } from '../guest/name.js';
import { GuestConfigSchema, type GuestConfig } from '../guest/schema.js';
import { writeFileAtomic } from '../util/atomic.js';
import { VsError } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import { shiftOwnership } from '../storage/shift.js';
import type { Deps } from './deps.js';
import { checkNetworkConfig } from './network.js';
import { changeContext } from './reserve.js';
import { guestIds, isActive } from './state.js';
import { sealGuestDir } from './tree-access.js';

/** Keys that describe how the tree is stored; changing them would need another tree. */
const FIXED_KEYS = ['backend', 'template', 'isolated'];

type Table = Record<string, unknown>;

export function getKey(cfg: Table, key: string): unknown {
  return key.split('.').reduce<unknown>((t, k) => (t && typeof t === 'object' ? (t as Table)[k] : undefined), cfg);
}

/** Sets (or with undefined removes) the value at a path of table keys, making tables on the way. */
export function setPath(cfg: Table, parts: readonly string[], value: unknown): void {
  let t = cfg;
  for (const p of parts.slice(0, -1)) {
    if (typeof t[p] !== 'object' || t[p] === null) t[p] = {};
    t = t[p] as Table;
  }
  if (value === undefined) delete t[parts[parts.length - 1]!];
  else t[parts[parts.length - 1]!] = value;
}

export function showConfig(deps: Deps, name: string): GuestConfig {
  return deps.store.read(checkName(name));
}

/** Sets (or with value undefined, removes) one key; returns the new configuration. */
export function setConfig(deps: Deps, name: string, key: string, value: unknown): Promise<GuestConfig> {
  checkName(name);
  return withLock(deps.paths.lock(name), `vserver config ${name}`, async () => {
    const old = deps.store.read(name);
    const file = deps.paths.guestConfig(name);
    const raw = parseToml(readFileSync(file, 'utf8')) as Table;
    setPath(raw, key.split('.'), value);
    const cfg = validate(file, GuestConfigSchema, raw);
    if (key.split('.')[0] === 'interfaces') await checkNetworkConfig(deps, name, cfg);
    const write = () => writeFileAtomic(file, toToml(raw));
    if (FIXED_KEYS.includes(key.split('.')[0]!) && JSON.stringify(getKey(old, key)) !== JSON.stringify(getKey(cfg, key))) {
      throw new VsError('INVALID_VALUE', `${key} is fixed when the guest is built (it says how its tree is stored)`,
        `build a new guest instead, for example 'vserver build NEW --clone ${name}' or with --backend/--isolated`);
    }
    if (key !== 'context' && key !== 'privileged') {
      write();
      return cfg;
    }
    // the tree's owners follow the guest's id range, so these keys change files, not just the config
    if (isActive(await (await deps.runtime()).state(name))) {
      throw new VsError('ALREADY_RUNNING', `guest '${name}' is running; ${key} can only change while it is stopped`,
        `stop it first with 'vserver stop ${name}'`);
    }
    const reown = () => {
      shiftOwnership(deps.paths.rootfs(name), guestIds(deps, old), guestIds(deps, cfg));
      sealGuestDir(deps, name, cfg);
    };
    if (key === 'privileged') {
      reown();
      write();
      return cfg;
    }
    return changeContext(deps, name, old.context, cfg.context, () => {
      reown();
      write();
      return cfg;
    });
  });
}

export function unknownKey(key: string): VsError {
  return new VsError('NOT_FOUND', `key '${key}' is not set in this guest's configuration`, "run 'vserver config NAME' to see the keys that are set");
}
