// Removing what a guest's run left on the host: runtime state, bundle, cgroups, network. Safe to repeat.
import { existsSync, rmSync } from 'node:fs';
import { crashPoint } from '../util/crash.js';
import { sleep } from '../util/proc.js';
import type { Deps } from './deps.js';
import { endLimitChange } from './limit-change.js';
import { teardownNetwork } from './network-teardown.js';
import { traced } from '../util/trace.js';

/** How long the processes of a killed container may take to leave its cgroup. */
const EXIT_WAIT_MS = 5000;

/**
 * Removes the cgroup of a container (id) whose processes are dead or dying: those that a forced
 * runtime delete just killed take a moment to leave, so removal waits for them rather than
 * leaving the cgroup to a second gc. Returns what could not be removed.
 */
export async function removeCgroup(deps: Deps, id: string): Promise<string[]> {
  const cg = deps.cgroups();
  const name = deps.paths.cgroupName(id);
  let stuck = cg.remove(name);
  if (stuck.length > 0) {
    for (const pid of cg.pids(name)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    const deadline = Date.now() + EXIT_WAIT_MS;
    while (cg.pids(name).length > 0 && Date.now() < deadline) await sleep(20);
    stuck = cg.remove(name);
  }
  return stuck.map((dir) => `cgroup ${dir} is still in use`);
}

/** Returns what could not be removed; `removed` gets what was, in words. */
export async function teardown(deps: Deps, name: string, removed: string[] = []): Promise<string[]> {
  const problems: string[] = [];
  const rt = await deps.runtime();
  try {
    // reading the state is cheap; the runtime is only spawned when there is something to delete,
    // and not even then when init is dead: its cgroup goes below and its state directory here
    if (await rt.state(name)) {
      if (!rt.forgetStopped?.(name)) await rt.delete(name, { force: true });
      crashPoint('teardown:deleted');
      removed.push('runtime state');
    }
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e));
  }
  endLimitChange(deps, name); // a stopped guest gets the config's limits at its next start
  if (existsSync(deps.paths.bundle(name))) {
    rmSync(deps.paths.bundle(name), { recursive: true, force: true });
    removed.push('bundle');
  }
  const cgroups = deps.cgroups().dirs(deps.paths.cgroupName(name));
  const stuck = await traced(`teardown ${name}: cgroups`, () => removeCgroup(deps, name));
  problems.push(...stuck);
  if (cgroups.length > stuck.length) removed.push('cgroup');
  try {
    problems.push(...(await traced(`teardown ${name}: network`, () => teardownNetwork(deps, name, removed))));
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e));
  }
  return problems;
}
