// Settling a limit change that was killed half way; apart from limit-change.ts, which limit.ts itself uses.
import type { Deps } from './deps.js';
import { settleLimits } from './limit.js';
import { limitChangePending } from './limit-change.js';

/** Puts the config's limits in force if a limit change on this guest was killed half way; the caller holds its lock. */
export async function settleLimitChange(deps: Deps, name: string): Promise<void> {
  if (limitChangePending(deps, name)) await settleLimits(deps, name);
}
