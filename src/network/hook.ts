// The runtime hook that wires up the guest's network namespace while its init waits: the runtime
// makes the namespace (inside the guest's user namespace when it has one) and runs this hook, on
// the host, before init may run.
import type { BatchLine } from './script.js';

/**
 * $1: the namespace file, $2 and $3: the host's and the guest's ip batch, $4: where errors go. The
 * runtime gives its state, with init's pid, on stdin. A constant script: every value is an argument.
 */
/** Sets $pid from the runtime's state on stdin (one line of JSON), with the shell alone, or fails. */
export const PID_FROM_STATE = [
  'read -r state || [ -n "$state" ]',
  `key='"pid":'`,
  'case $state in *"$key"*) ;; *) echo "the runtime gave no init pid" >&2; exit 1;; esac',
  'pid=${state#*"$key"}; pid=${pid#"${pid%%[0-9]*}"}; pid=${pid%%[!0-9]*}',
  '[ -n "$pid" ] && [ "$pid" -gt 1 ] || { echo "the runtime gave no init pid" >&2; exit 1; }',
].join('\n');

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
    path: sh, args: ['sh', '-c', WIRE_SCRIPT, 'sh', f.netns, f.hostBatch, f.guestBatch, f.errors],
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], timeout: 30,
  };
}

export function batchText(lines: readonly BatchLine[]): string {
  return lines.map((l) => `${l.cmd}\n`).join('');
}
