// The runtime hook that sets /proc/sys/user in a guest's user namespace once the runtime has made
// it, before the guest's init runs: what one guest may hold of inotify, fanotify and namespaces.
import type { UserCount } from '../guest/defaults-schema.js';
import type { OciHook } from '../oci/types.js';
import { HOOK_ENV, PID_FROM_STATE, USER_COUNTS_LOOP } from '../util/hook-state.js';

/**
 * Arguments: NAME=VALUE pairs. nsenter becomes the namespace's root, so that the shell it runs
 * keeps every capability there; a count this kernel does not have is skipped. A constant script.
 */
export const USER_COUNTS_SCRIPT = [
  'set -e',
  PID_FROM_STATE,
  `exec nsenter --user="/proc/$pid/ns/user" -- sh -c '${USER_COUNTS_LOOP}' sh "$@"`,
].join('\n');

/** The counts as the hooks take them: NAME=VALUE arguments. */
export function countArgs(counts: readonly [UserCount, number][]): string[] {
  return counts.map(([k, n]) => `${k}=${n}`);
}

export function userCountsHook(sh: string, counts: readonly string[]): OciHook {
  return { path: sh, args: ['sh', '-c', USER_COUNTS_SCRIPT, 'sh', ...counts], env: HOOK_ENV, timeout: 30 };
}
