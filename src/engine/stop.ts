// Stopping a guest the way util-vserver does: ask init, wait, then SIGTERM and SIGKILL to all.
import { checkName } from '../guest/name.js';
import { initPlan } from '../guest/init.js';
import type { RuntimeState } from '../runtime/types.js';
import { crashPoint } from '../util/crash.js';
import { VsError } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import { processStartTime, waitGone } from '../util/procfs.js';
import type { Deps } from './deps.js';
import { isActive } from './state.js';
import { traced } from '../util/trace.js';
import { teardown } from './teardown.js';

export interface StopOptions {
  /** Seconds to wait for init's own shutdown before the kill sequence. */
  timeoutS?: number;
  /** Skip init's shutdown and kill everything at once (delete --force). */
  kill?: boolean;
}

/** After TERM to every process, how long before KILL; then how long KILL may take. */
const TERM_GRACE_MS = 5000;
const KILL_WAIT_MS = 10_000;

export function stopGuest(deps: Deps, name: string, opts: StopOptions = {}): Promise<void> {
  checkName(name);
  return withLock(deps.paths.lock(name), `vserver stop ${name}`, () => traced(`stop ${name}: all`, () => stopLocked(deps, name, opts)));
}

export async function stopLocked(deps: Deps, name: string, opts: StopOptions = {}): Promise<void> {
  const cfg = opts.kill ? undefined : deps.store.read(name);
  const rt = await deps.runtime();
  const st = await rt.state(name);
  if (!isActive(st)) {
    await teardown(deps, name);
    throw new VsError('NOT_RUNNING', `guest '${name}' is not running`, `start it with 'vserver start ${name}'`);
  }
  if (cfg) {
    const timeoutS = opts.timeoutS ?? cfg.stop_timeout ?? deps.host().stop_timeout;
    await traced(`stop ${name}: kill`, () => killSequence(deps, name, st, timeoutS * 1000, initPlan(cfg).stopSignal));
  } else await traced(`stop ${name}: kill`, () => killSequence(deps, name, st, 0, 9));
  crashPoint('stop:killed');
  const problems = await traced(`stop ${name}: teardown`, () => teardown(deps, name));
  if (problems.length > 0) {
    throw new VsError(
      'RUNTIME_FAILED',
      `guest '${name}' stopped, but cleaning up failed: ${problems.join('; ')}`,
      `run 'vserver stop ${name}' again`,
    );
  }
}

/** How long SIGKILLs sent straight to a guest's processes may take before the runtime is asked to kill it. */
const FROZEN_CHECK_MS = 1000;

async function killSequence(deps: Deps, name: string, st: RuntimeState, timeoutMs: number, signal: number): Promise<void> {
  const rt = await deps.runtime();
  const start = processStartTime(st.pid);
  if (st.status === 'paused') await rt.kill(name, 9, { all: true }); // frozen processes cannot shut down
  if (timeoutMs > 0) {
    await rt.kill(name, signal);
    if (await waitGone(st.pid, start, timeoutMs)) return;
    await rt.kill(name, 15, { all: true });
    if (await waitGone(st.pid, start, TERM_GRACE_MS)) return;
  }
  // what `kill --all` does, without a runtime process per guest: SIGKILL to every process of its cgroup
  const pids = st.status === 'paused' ? [] : deps.cgroups().pids(deps.paths.cgroupName(name));
  if (pids.length > 0) {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
  }
  // a guest frozen since its state was read gets no signal until thawed: the runtime's kill thaws it
  if (pids.length === 0 || !(await waitGone(st.pid, start, FROZEN_CHECK_MS))) await rt.kill(name, 9, { all: true });
  if (!(await waitGone(st.pid, start, KILL_WAIT_MS))) {
    throw new VsError(
      'RUNTIME_FAILED',
      `guest '${name}' did not die after SIGKILL (init pid ${st.pid})`,
      'a process may be stuck in the kernel (D state); check it with ps and try again',
    );
  }
}
