// Removing what a guest's run left on the host: runtime state, bundle, cgroups, network. Safe to repeat.
import { existsSync, rmSync } from 'node:fs';
import type { Deps } from './deps.js';
import { teardownNetwork } from './network-teardown.js';

/** Returns what could not be removed; `removed` gets what was, in words. */
export async function teardown(deps: Deps, name: string, removed: string[] = []): Promise<string[]> {
  const problems: string[] = [];
  const rt = await deps.runtime();
  try {
    // reading the state is cheap; the runtime is only spawned when there is something to delete
    if (await rt.state(name)) {
      await rt.delete(name, { force: true });
      removed.push('runtime state');
    }
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e));
  }
  if (existsSync(deps.paths.bundle(name))) {
    rmSync(deps.paths.bundle(name), { recursive: true, force: true });
    removed.push('bundle');
  }
  const cgroups = deps.cgroups().dirs(deps.paths.cgroupName(name));
  const stuck = deps.cgroups().remove(deps.paths.cgroupName(name));
  for (const dir of stuck) problems.push(`cgroup ${dir} is still in use`);
  if (cgroups.length > stuck.length) removed.push('cgroup');
  try {
    problems.push(...await teardownNetwork(deps, name, removed));
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e));
  }
  return problems;
}
