// Telling a guest that is at its pids or memory limit from any other failure of exec: the
// runtime's set-up process is charged to the guest's cgroup, so at a limit it cannot even start.
import type { CgroupReader, LimitCounters } from '../resources/cgroup.js';
import { VsError } from '../util/errors.js';
import { formatSize } from '../util/units.js';

/** The counters compared before and after an exec: two files, as exec is the hot path. */
export function limitCounters(cg: CgroupReader, cgName: string): LimitCounters | undefined {
  try {
    return cg.limitCounters(cgName);
  } catch {
    return undefined;
  }
}

export interface LimitHit {
  limit: 'pids' | 'memory';
  error: VsError;
}

/** Which limit stopped the exec, and the error that says so, if a counter moved while it ran. */
export function limitReached(
  cg: CgroupReader,
  cgName: string,
  name: string,
  before: LimitCounters | undefined,
  ran: boolean,
): LimitHit | undefined {
  const after = limitCounters(cg, cgName);
  if (!before || !after) return undefined;
  const moved = after.pidsRefused > before.pidsRefused || after.oomKills > before.oomKills;
  // the figures for the message are read only when a limit was hit
  const limits = moved ? cg.limits(cgName) : undefined;
  const usage = moved ? cg.usage(cgName) : undefined;
  if (after.pidsRefused > before.pidsRefused) {
    const now = usage && limits ? `: ${usage.tasks} of ${limits.pidsMax} processes and threads in use` : '';
    return {
      limit: 'pids',
      error: new VsError(
        'LIMIT_REACHED',
        `guest '${name}' is at its pids limit${now}, so the command could not be started ` +
          `(${after.pidsRefused - before.pidsRefused} forks refused)`,
        `raise it with 'vserver limit ${name} pids.max N', or end processes inside the guest; 'vserver status ${name}' shows the figures`,
      ),
    };
  }
  if (after.oomKills > before.oomKills) {
    const now =
      usage && limits && Number.isFinite(limits.memoryMax)
        ? ` (${formatSize(usage.memoryBytes)} of ${formatSize(limits.memoryMax)} in use)`
        : '';
    return {
      limit: 'memory',
      error: new VsError(
        'LIMIT_REACHED',
        `guest '${name}' is at its memory limit${now}: the kernel's OOM killer ` +
          (ran ? 'killed the command' : 'ended the process that enters the guest, so the command could not be started'),
        `raise it with 'vserver limit ${name} memory.max SIZE', then free memory inside ` +
          "the guest (files in /dev/shm and /tmp count too); 'vserver status' shows the figures",
      ),
    };
  }
  return undefined;
}
