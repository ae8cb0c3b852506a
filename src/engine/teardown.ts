// Removing what a guest's run left on the host: runtime state, bundle, cgroups. Safe to repeat.
import { rmSync } from 'node:fs';
import type { Deps } from './deps.js';

export async function teardown(deps: Deps, name: string): Promise<string[]> {
  const problems: string[] = [];
  const rt = await deps.runtime();
  try {
    // reading the state is cheap; the runtime is only spawned when there is something to delete
    if (await rt.state(name)) await rt.delete(name, { force: true });
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e));
  }
  rmSync(deps.paths.bundle(name), { recursive: true, force: true });
  for (const dir of deps.cgroups().remove(deps.paths.cgroupName(name))) problems.push(`cgroup ${dir} is still in use`);
  return problems;
}
