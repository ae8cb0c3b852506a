// A limit change in progress on a running guest: marked before the kernel gets the new limits and
// cleared once the config says the same, so that a change killed in between is found and settled.
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Deps } from './deps.js';

export function beginLimitChange(deps: Deps, name: string): void {
  const marker = deps.paths.limitChange(name);
  mkdirSync(dirname(marker), { recursive: true });
  closeSync(openSync(marker, 'w', 0o600)); // empty: needs no free block
}

export function endLimitChange(deps: Deps, name: string): void {
  rmSync(deps.paths.limitChange(name), { force: true });
}

export function limitChangePending(deps: Deps, name: string): boolean {
  return existsSync(deps.paths.limitChange(name));
}
