// The runtime hook that wires up the guest's network namespace while its init waits: the runtime
// makes the namespace (inside the guest's user namespace when it has one) and runs this hook, on
// the host, before init may run.
import { HOOK_ENV, PID_FROM_STATE, USER_COUNTS_LOOP } from '../util/hook-state.js';
import type { BatchLine } from './script.js';

export { PID_FROM_STATE };

/** How the batches name the guest's namespace: fd 3 of ip, which the hook opens on it (no file or pid to know beforehand). */
export const NETNS_FD = '/proc/self/fd/3';

/**
 * $1: the namespace file to bind ('' for none), $2 and $3: the host's and the guest's ip batch,
 * $4: where errors go, then NAME=VALUE counts of the guest's user namespace (set from inside it, in
 * the same process that configures its network: one hook per start, not two). The runtime gives
 * its state, with init's pid, on stdin. A constant script: every value is an argument.
 */
export const WIRE_SCRIPT = [
  'set -e',
  'exec 2>"$4"',
  PID_FROM_STATE,
  'exec 3<"/proc/$pid/ns/net"',
  // bound to its file, the namespace (and a NIC given to it) outlives the guest until vserver takes it down
  'if [ -n "$1" ]; then mount --bind "/proc/$pid/ns/net" "$1"; fi',
  'ip -batch "$2"',
  'exec 4<"$3"',
  'shift 4',
  `if [ $# -eq 0 ]; then exec nsenter --net=${NETNS_FD} -- ip -batch - <&4; fi`,
  // as the root of the guest's user namespace, which owns its network namespace
  `exec nsenter --user="/proc/$pid/ns/user" --net=${NETNS_FD} -- sh -c '${USER_COUNTS_LOOP}; exec ip -batch -' sh "$@" <&4`,
].join('\n');

export interface WireFiles {
  /** The file the namespace is bound to, or undefined when nothing needs it after the guest's processes. */
  netns?: string;
  hostBatch: string;
  guestBatch: string;
  errors: string;
}

export interface Hook {
  path: string;
  args: string[];
  env: string[];
  timeout: number;
}

export function wireHook(sh: string, f: WireFiles, counts: readonly string[] = []): Hook {
  return {
    path: sh,
    args: ['sh', '-c', WIRE_SCRIPT, 'sh', f.netns ?? '', f.hostBatch, f.guestBatch, f.errors, ...counts],
    env: HOOK_ENV,
    timeout: 30,
  };
}

export function batchText(lines: readonly BatchLine[]): string {
  return lines.map((l) => `${l.cmd}\n`).join('');
}
