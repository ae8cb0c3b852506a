// Reading and changing one guest's configuration file, validated before it is written.
import { getKey, shownConfig } from '../guest/config.js';
import { checkName } from '../guest/name.js';
import type { GuestConfig, ShownConfig } from '../guest/schema.js';
import type { ConfigEdit, EditOptions } from '../guest/store.js';
import { VsError } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import type { Deps } from './deps.js';
import { checkNetworkConfig } from './network.js';
import { changeContext } from './reserve.js';
import { finishPending, reown } from './reown.js';
import { guestIds, isActive } from './state.js';

/** Keys that describe how the tree is stored; changing them would need another tree. */
const FIXED_KEYS = ['backend', 'template', 'isolated'] as const;
/** Keys whose change moves the owners of the tree's files to another id range. */
const OWNER_KEYS = ['context', 'privileged'] as const;

export interface ConfigView {
  text: string;
  version: string;
  config: ShownConfig;
}

export function configDocument(deps: Deps, name: string): ConfigView {
  const { text, version, config, doc } = deps.store.document(checkName(name));
  return { text, version, config: shownConfig(config, doc) };
}

export function showConfig(deps: Deps, name: string): ShownConfig {
  return configDocument(deps, name).config;
}

/** One key of the configuration (dotted for tables), as the schema reads it, with values in the file's words. */
export function configKey(deps: Deps, name: string, key: string): unknown {
  const value = getKey(showConfig(deps, name) as unknown as Record<string, unknown>, key);
  if (value === undefined) throw unknownKey(key);
  return value;
}

/** Sets (or with value undefined, removes) one key; returns the new configuration. */
export async function setConfig(deps: Deps, name: string, key: string, value: unknown): Promise<ShownConfig> {
  return (await editConfig(deps, name, { set: { [key]: value ?? null } })).config;
}

/**
 * Changes the configuration: keys, or the whole text. Takes effect at the next start; a change of
 * the context or of privileged re-owns the stopped guest's tree first.
 */
export function editConfig(
  deps: Deps,
  name: string,
  edit: ConfigEdit,
  opts: EditOptions = {},
): Promise<{ version: string; config: ShownConfig }> {
  checkName(name);
  return withLock(deps.paths.lock(name), `vserver config ${name}`, async () => {
    // a move of the tree that a crash interrupted is finished before anything else changes
    await finishPending(deps, name);
    const e = deps.store.prepareEdit(name, edit, opts);
    const old = e.before.config;
    const cfg = e.config;
    const changed = (k: keyof GuestConfig) => JSON.stringify(old[k]) !== JSON.stringify(cfg[k]);
    if (changed('interfaces')) await checkNetworkConfig(deps, name, cfg);
    const fixed = FIXED_KEYS.find(changed);
    if (fixed) {
      throw new VsError(
        'INVALID_VALUE',
        `${fixed} is fixed when the guest is built (it says how its tree is stored)`,
        `build a new guest instead, for example 'vserver build NEW --clone ${name}' or with --backend/--isolated`,
      );
    }
    const done = { version: e.version, config: shownConfig(cfg, e.doc) };
    const moved = OWNER_KEYS.filter(changed);
    if (moved.length === 0) {
      e.write();
      return done;
    }
    if (moved.length > 1) {
      throw new VsError(
        'INVALID_VALUE',
        'context and privileged cannot change in one edit: each moves the owners of every file in the tree',
        'change one, then the other',
      );
    }
    const key = moved[0]!;
    // the tree's owners follow the guest's id range, so these keys change files, not just the config
    if (isActive(await (await deps.runtime()).state(name))) {
      throw new VsError(
        'ALREADY_RUNNING',
        `guest '${name}' is running; ${key} can only change while it is stopped`,
        `stop it first with 'vserver stop ${name}'`,
      );
    }
    // recorded before the first file moves, so that a crash can be finished (reown.ts); the move
    // writes that key, then the rest of the edit follows
    const move = () => {
      reown(deps, name, {
        key,
        value: key === 'context' ? cfg.context : cfg.privileged === true,
        from: guestIds(deps, old),
        to: guestIds(deps, cfg),
        started: new Date().toISOString(),
      });
      e.write();
      return done;
    };
    return key === 'privileged' ? move() : changeContext(deps, name, old.context, cfg.context, move);
  });
}

export function unknownKey(key: string): VsError {
  return new VsError(
    'NOT_FOUND',
    `key '${key}' is not set in this guest's configuration`,
    "run 'vserver config NAME' to see the keys that are set",
  );
}
