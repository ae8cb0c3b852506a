// The throw-away guests of `vserver check --escape`: named for the process that made them, so that
// gc and the next check remove those whose maker died (killed, even with SIGKILL).
import { isVsError } from '../util/errors.js';
import { processStartTime } from '../util/procfs.js';
import { deleteGuest } from './delete.js';
import type { Deps } from './deps.js';

const PATTERN = /^escape-check-(\d+)-(\d+)(-priv)?$/;

/** The name of this process's throw-away guest (its pid and start time tell a dead maker from a live one). */
export function escapeGuestName(privileged: boolean): string {
  return `escape-check-${process.pid}-${processStartTime(process.pid) ?? 0}${privileged ? '-priv' : ''}`;
}

/** Whether name is a throw-away guest whose maker is gone (pure but for the process table). */
export function isOrphanEscapeGuest(name: string, startOf: (pid: number) => string | undefined = processStartTime): boolean {
  const m = PATTERN.exec(name);
  return m !== null && startOf(Number(m[1])) !== m[2];
}

/** Deletes the throw-away guests of checks that died; says what it removed, and what it could not. */
export async function sweepEscapeGuests(deps: Deps): Promise<{ removed: string[]; problems: string[] }> {
  const out = { removed: [] as string[], problems: [] as string[] };
  for (const name of deps.store.names().filter((n) => isOrphanEscapeGuest(n))) {
    try {
      await deleteGuest(deps, name, { force: true });
      out.removed.push(`guest ${name} of a check --escape that died`);
    } catch (e) {
      if (!isVsError(e, 'BUSY')) out.problems.push(`guest ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return out;
}
