// status, running and list: what the runtime and /proc say now.
import { checkName } from '../guest/name.js';
import { VsError } from '../util/errors.js';
import { readMounts } from '../util/mounts.js';
import { treeState } from './mount.js';
import { checkNotReowning } from './reown.js';
import { guestUsesLxcfs } from '../resources/lxcfs.js';
import { readIfExists } from '../util/fs.js';
import { ownRlimits } from '../util/procfs.js';
import type { Deps } from './deps.js';
import { limitChangePending } from './limit-change.js';
import { interfacesInfo } from './network-info.js';
import { guestIds, guestInfo, isActive, readGuest } from './state.js';
import type { GuestInfo, GuestResources } from './types.js';

export async function statusGuest(deps: Deps, name: string): Promise<GuestInfo> {
  checkName(name);
  const { cfg, rt } = await readGuest(deps, name);
  const info = { ...guestInfo(name, cfg, rt, idsOrUndefined(deps, cfg)), ...treeState(deps, name, cfg) };
  const half = reownWarning(deps, name);
  if (half) info.warnings = [...(info.warnings ?? []), half];
  if (info.state !== 'stopped') {
    const cg = deps.cgroups();
    const cgName = deps.paths.cgroupName(name);
    info.processes = cg.pids(cgName).length;
    if (info.pid !== undefined) info.resources = resourcesOf(deps, cgName, info.pid);
    if (limitChangePending(deps, name)) {
      info.warnings = [
        ...(info.warnings ?? []),
        `a limit change was interrupted: the limits in force are those shown here, ` +
          `and may differ from the config; the next 'vserver limit', 'start' or 'gc' on ${name} puts the config's limits in force`,
      ];
    }
  }
  info.interfaces = interfacesInfo(deps, name, cfg, isActive(rt));
  return info;
}

function resourcesOf(deps: Deps, cgName: string, pid: number): GuestResources {
  const cg = deps.cgroups();
  const limitsText = readIfExists(`/proc/${pid}/limits`);
  const rlimits =
    limitsText === undefined
      ? undefined
      : Object.fromEntries([...ownRlimits(limitsText)].map(([k, val]) => [k.slice('RLIMIT_'.length).toLowerCase(), val]));
  return {
    limits: cg.limits(cgName),
    usage: cg.usage(cgName),
    events: cg.events(cgName),
    rlimits,
    lxcfs: lxcfsNote(deps, pid),
  };
}

function lxcfsNote(deps: Deps, pid: number): GuestResources['lxcfs'] {
  if (guestUsesLxcfs(pid))
    return { inUse: true, note: "lxcfs: free, uptime, top and /proc/cpuinfo inside show the guest's own limits and uptime" };
  const lx = deps.lxcfs();
  const why =
    lx.mode === 'off'
      ? 'lxcfs is off in vserver.toml'
      : !lx.installed()
        ? 'lxcfs is not installed (apt-get install lxcfs)'
        : 'lxcfs was not running when the guest started (restart the guest to use it)';
  return { inUse: false, note: `host values: free, uptime, top and /proc/cpuinfo inside show the host's figures; ${why}` };
}

export async function listGuests(deps: Deps): Promise<GuestInfo[]> {
  const all = deps.store.readAll();
  if (all.length === 0) return [];
  const states = new Map((await (await deps.runtime()).list()).map((s) => [s.id, s]));
  const mounts = readMounts();
  return all.map((g) =>
    g.config
      ? {
          ...guestInfo(g.name, g.config, states.get(g.name), idsOrUndefined(deps, g.config)),
          ...treeState(deps, g.name, g.config, mounts),
          interfaces: interfacesInfo(deps, g.name, g.config, isActive(states.get(g.name))),
        }
      : { name: g.name, context: 0, state: 'broken' as const, error: g.error?.message },
  );
}

export async function isRunning(deps: Deps, name: string): Promise<boolean> {
  const { rt } = await readGuest(deps, checkName(name));
  return isActive(rt);
}

/** A listing still shows a guest whose template went missing; start then says what is wrong. */
function idsOrUndefined(deps: Deps, cfg: Parameters<typeof guestIds>[1]) {
  try {
    return guestIds(deps, cfg);
  } catch {
    return undefined;
  }
}

function reownWarning(deps: Deps, name: string): string | undefined {
  try {
    checkNotReowning(deps, name);
    return undefined;
  } catch (e) {
    return e instanceof VsError ? `${e.message}; ${e.hint ?? ''}` : String(e);
  }
}
