// A guest's limits in force: the built-in defaults, then vserver.toml's [guest_defaults], then its own (pure).
import { BUILTIN_LIMITS, BUILTIN_USER_COUNTS, USER_COUNTS, type GuestDefaults, type UserCount } from '../guest/defaults-schema.js';
import type { Limits } from '../guest/limits-schema.js';

type Table = Record<string, unknown>;

const isTable = (x: unknown): x is Table => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Later layers win key by key; tables merge, anything else replaces. */
function merge(a: Table, b: Table | undefined): Table {
  const out: Table = { ...a };
  for (const [k, v] of Object.entries(b ?? {})) {
    if (v === undefined) continue;
    out[k] = isTable(v) && isTable(out[k]) ? merge(out[k] as Table, v) : v;
  }
  return out;
}

export function effectiveLimits(own: Limits | undefined, defaults: GuestDefaults): Limits {
  const merged = merge(merge(BUILTIN_LIMITS as Table, defaults.limits as Table | undefined), own as Table | undefined) as Limits;
  // one relative CPU share only: a guest's own shares replace a default weight, and the other way round
  if (own?.cpu?.shares !== undefined && own.cpu.weight === undefined && merged.cpu) delete merged.cpu.weight;
  if (own?.cpu?.weight !== undefined && own.cpu.shares === undefined && merged.cpu) delete merged.cpu.shares;
  return merged;
}

/** The /proc/sys/user counts of a guest's user namespace, in a stable order. */
export function userCounts(defaults: GuestDefaults): [UserCount, number][] {
  return USER_COUNTS.map((k) => [k, defaults.user?.[k] ?? BUILTIN_USER_COUNTS[k]]);
}
