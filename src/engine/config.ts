// Reading and changing one guest's configuration file, key by key, validated before it is written.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { checkContextFree } from '../guest/context.js';
import { toToml, validate } from '../guest/config.js';
import { checkName } from '../guest/name.js';
import { GuestConfigSchema, type GuestConfig } from '../guest/schema.js';
import { writeFileAtomic } from '../util/atomic.js';
import { VsError } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import type { Deps } from './deps.js';
import { checkNetworkConfig } from './network.js';

type Table = Record<string, unknown>;

/** A value from the command line: TOML syntax if it parses as a value (10, true, ["a"]), else a plain string. */
export function parseValue(raw: string): unknown {
  try {
    return (parseToml(`v = ${raw}`) as Table).v;
  } catch {
    return raw;
  }
}

export function getKey(cfg: Table, key: string): unknown {
  return key.split('.').reduce<unknown>((t, k) => (t && typeof t === 'object' ? (t as Table)[k] : undefined), cfg);
}

function setKey(cfg: Table, key: string, value: unknown): void {
  const parts = key.split('.');
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
    deps.store.read(name);
    const file = deps.paths.guestConfig(name);
    const raw = parseToml(readFileSync(file, 'utf8')) as Table;
    setKey(raw, key, value);
    const cfg = validate(file, GuestConfigSchema, raw);
    if (key.split('.')[0] === 'interfaces') await checkNetworkConfig(deps, name, cfg);
    const write = () => writeFileAtomic(file, toToml(raw));
    if (key !== 'context') {
      write();
      return cfg;
    }
    return withLock(join(deps.paths.locks, '.contexts'), 'changing a context', async () => {
      const used = new Map<number, string>();
      for (const g of deps.store.readAll()) if (g.config && g.name !== name) used.set(g.config.context, g.name);
      checkContextFree(used, cfg.context);
      write();
      return cfg;
    });
  });
}

export function unknownKey(key: string): VsError {
  return new VsError('NOT_FOUND', `key '${key}' is not set in this guest's configuration`, "run 'vserver config NAME' to see the keys that are set");
}
