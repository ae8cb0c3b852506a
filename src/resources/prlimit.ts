// Changing the rlimits of processes that already run, with util-linux prlimit (Node has no prlimit call).
import type { OciRlimit } from '../oci/types.js';
import { rlimitOption } from '../oci/rlimit.js';
import { rlimitText } from '../util/units.js';
import { run } from '../util/proc.js';

/** prlimit's options for a set of rlimits: --nofile=SOFT:HARD ... */
export function prlimitArgs(rlimits: readonly OciRlimit[]): string[] {
  return rlimits.map((r) => `--${rlimitOption(r)}=${rlimitText(r.soft)}:${rlimitText(r.hard)}`);
}

/**
 * Sets the rlimits of each process; returns how many could not be changed and why (a hard limit can
 * only be raised with CAP_SYS_RESOURCE). Processes that exit meanwhile do not count as failures.
 */
export async function setProcessRlimits(
  pids: readonly number[],
  rlimits: readonly OciRlimit[],
): Promise<{ failed: number; reason?: string }> {
  if (rlimits.length === 0) return { failed: 0 };
  let failed = 0;
  let reason: string | undefined;
  const args = prlimitArgs(rlimits);
  // a few at a time: a guest may have many processes, each needs its own prlimit
  for (let i = 0; i < pids.length; i += 8) {
    const results = await Promise.all(
      pids.slice(i, i + 8).map((pid) => run('prlimit', ['--pid', String(pid), ...args]).then((r) => ({ pid, r }))),
    );
    for (const { r } of results) {
      if (r.code === 0 || /No such process/i.test(r.stderr)) continue;
      failed++;
      reason ??= r.stderr
        .trim()
        .split('\n')
        .pop()
        ?.replace(/^prlimit: /, '');
    }
  }
  return { failed, reason };
}
