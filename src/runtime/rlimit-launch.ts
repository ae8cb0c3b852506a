// The runtime can give a guest's processes hard limits only up to its own, and it inherits ours, which
// come from whatever shell called us. Raise them for the runtime's process first, so that a guest gets
// the same limits from every caller.
import type { OciRlimit } from '../oci/types.js';
import { rlimitOption } from '../oci/rlimit.js';
import { rlimitText } from '../util/units.js';
import { VsError } from '../util/errors.js';
import { canRaiseLimits, ownRlimits } from '../util/procfs.js';
import { openSync } from 'node:fs';
import { helperPath } from '../util/helpers.js';

/**
 * The command line that runs FILE ARGS with hard limits high enough for RLIMITS: prlimit in front when
 * ours are lower. Without CAP_SYS_RESOURCE they cannot be raised, and the error says what to do.
 */
export function withRaisedLimits(
  file: string,
  args: readonly string[],
  rlimits: readonly OciRlimit[],
  own: ReadonlyMap<string, { hard: number }> = ownRlimits(),
  raise = canRaiseLimits,
): [string, string[]] {
  const low = rlimits.filter((r) => r.hard > (own.get(r.type)?.hard ?? Infinity));
  if (low.length === 0) return [file, [...args]];
  if (!raise()) {
    const what = low.map((r) => `${rlimitOption(r)} ${rlimitText(own.get(r.type)!.hard)} < ${rlimitText(r.hard)}`).join(', ');
    throw new VsError(
      'NOT_PERMITTED',
      `the guest's hard limits are above this process's, which it cannot raise (no CAP_SYS_RESOURCE): ${what}`,
      `run vserver from a shell whose hard limits are at least the guest's (for open files: ulimit -Hn ${low[0]!.hard}), or restart the guest from this shell`,
    );
  }
  return ['prlimit', [...low.map((r) => `--${rlimitOption(r)}=:${rlimitText(r.hard)}`), '--', file, ...args]];
}

/**
 * The command line that runs FILE ARGS with exactly RLIMITS, soft and hard: for crun (1.8), whose exec
 * gives a command the limits crun itself has, not the guest's.
 */
export function withExactLimits(
  file: string,
  args: readonly string[],
  rlimits: readonly OciRlimit[],
  own: ReadonlyMap<string, { hard: number }> = ownRlimits(),
  raise = canRaiseLimits,
): [string, string[]] {
  if (rlimits.length === 0) return [file, [...args]];
  withRaisedLimits(file, args, rlimits, own, raise); // refuses, saying why, where they cannot be raised
  return ['prlimit', [...rlimits.map((r) => `--${rlimitOption(r)}=${rlimitText(r.soft)}:${rlimitText(r.hard)}`), '--', file, ...args]];
}

/**
 * Puts a soft open-files limit back, then runs ARGV as the runtime would: a command without a slash is
 * looked up in PATH here, because busybox's shell would run its own applet of that name instead.
 */
const SOFT_NOFILE_SCRIPT = [
  'ulimit -S -n "$0" 2>/dev/null',
  'case $1 in */*) exec "$@";; esac',
  'IFS=:',
  'for d in ${PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}; do',
  '  if [ -f "$d/$1" ] && [ -x "$d/$1" ]; then p=$d/$1; shift; exec "$p" "$@"; fi',
  'done',
  'exec "$@"',
].join('\n');

/** The soft open-files limit runc would lose for an exec'd process: one below the hard limit. */
export function lostSoftNofile(rlimits: readonly OciRlimit[]): number | undefined {
  const nofile = rlimits.find((r) => r.type === 'RLIMIT_NOFILE');
  return nofile && nofile.soft < nofile.hard ? nofile.soft : undefined;
}

/**
 * runc built with Go 1.19 or later sets an exec'd process's limits and then its Go runtime raises the
 * soft open-files limit to the hard one. The guest's own shell puts the soft limit back before the
 * command runs; it is the guest's process, so this gives it nothing it could not do itself.
 */
export function softNofileArgv(argv: readonly string[], rlimits: readonly OciRlimit[]): string[] {
  const soft = lostSoftNofile(rlimits);
  return soft === undefined ? [...argv] : ['/bin/sh', '-c', SOFT_NOFILE_SCRIPT, String(soft), ...argv];
}

let shim: number | null | undefined;

/**
 * dist/exec-shim, open for this process's lifetime: runc runs it in the guest from fd 3
 * (--preserve-fds 1), and it puts the soft limit back as the shell above does, without a shell in the
 * guest and without a shell's start-up. A spawn slot of the daemon opens it through /proc while it is open.
 */
export function execShimFd(): number | undefined {
  if (shim === undefined) {
    try {
      shim = openSync(helperPath('exec-shim'), 'r');
    } catch {
      shim = null; // built without a C compiler: the guest's shell does it
    }
  }
  return shim ?? undefined;
}

/** The argv of the exec shim, run from fd 3. */
export function execShimArgv(argv: readonly string[], soft: number): string[] {
  return ['/proc/self/fd/3', String(soft), ...argv];
}
