// restart: stop if running, then start, without letting another command in between.
import { checkName } from '../guest/name.js';
import { withLock } from '../util/lock.js';
import type { Deps } from './deps.js';
import { startLocked } from './start.js';
import { isActive } from './state.js';
import { stopLocked, type StopOptions } from './stop.js';
import type { GuestInfo } from './types.js';

export function restartGuest(deps: Deps, name: string, opts?: StopOptions): Promise<GuestInfo> {
  checkName(name);
  return withLock(deps.paths.lock(name), `vserver restart ${name}`, async () => {
    deps.store.read(name);
    if (isActive(await (await deps.runtime()).state(name))) await stopLocked(deps, name, opts);
    return startLocked(deps, name);
  });
}
