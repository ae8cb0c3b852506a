// The runtime hook that wires up the guest's network namespace while its init waits: the runtime
// makes the namespace (inside the guest's user namespace when it has one) and runs this hook, on
// the host, before init may run.
import { HOOK_ENV, PID_FROM_STATE } from '../util/hook-state.js';
import type { BatchLine } from './script.js';

export { PID_FROM_STATE };

/**
 * $1: the namespace file, $2 and $3: the host's and the guest's ip batch, $4: where errors go. The
 * runtime gives its state, with init's pid, on stdin. A constant script: every value is an argument.
 */
export const WIRE_SCRIPT = [
  'set -e',
  'exec 2>"$4"',
  PID_FROM_STATE,
  // bound to its file, the namespace outlives the guest until vserver takes it down
  'mount --bind "/proc/$pid/ns/net" "$1"',
  'ip -batch "$2"',
  'exec nsenter --net="$1" -- ip -batch "$3"',
].join('\n');

export interface WireFiles {
  netns: string;
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

export function wireHook(sh: string, f: WireFiles): Hook {
  return {
    path: sh,
    args: ['sh', '-c', WIRE_SCRIPT, 'sh', f.netns, f.hostBatch, f.guestBatch, f.errors],
    env: HOOK_ENV,
    timeout: 30,
  };
}

export function batchText(lines: readonly BatchLine[]): string {
  return lines.map((l) => `${l.cmd}\n`).join('');
}
