// status, running and list: what the runtime and /proc say now.
import { checkName } from '../guest/name.js';
import { VsError } from '../util/errors.js';
import { readMounts } from '../util/mounts.js';
import { treeState } from './mount.js';
import { checkNotReowning } from './reown.js';
import { guestUsesLxcfs } from '../resources/lxcfs.js';
import { readIfExists } from '../util/fs.js';
import { ownRlimits, systemUptime } from '../util/procfs.js';
import type { GuestSummary } from '../guest/guest-index.js';
import type { IdRange } from '../guest/idmap.js';
import { traced, tracedSync } from '../util/trace.js';
import type { Deps } from './deps.js';
import { limitChangePending } from './limit-change.js';
import { interfacesInfo, listedInterfaces, recordedInterfaces } from './network-info.js';
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
  const all = tracedSync('list: configs', () => deps.store.summaries());
  if (all.length === 0) return [];
  const rt = await traced('select the runtime', () => deps.runtime());
  const states = new Map((await traced('list: runtime states', () => rt.list())).map((s) => [s.id, s]));
  const mounts = readMounts();
  const ids = idsReader(deps);
  const hostUptime = systemUptime();
  // one look at the directory of records instead of one at each guest's: most guests have no network of their own
  const recorded = recordedInterfaces(deps);
  return tracedSync('list: rows', () =>
    all.map((g) =>
      g.summary
        ? {
            ...guestInfo(g.name, g.summary, states.get(g.name), ids(g.summary), hostUptime),
            ...treeState(deps, g.name, g.summary, mounts),
            interfaces: listedInterfaces(deps, g.summary, isActive(states.get(g.name)) ? recorded.get(g.name) : undefined),
          }
        : { name: g.name, context: 0, state: 'broken' as const, error: g.error.message },
    ),
  );
}

export async function isRunning(deps: Deps, name: string): Promise<boolean> {
  const { rt } = await readGuest(deps, checkName(name));
  return isActive(rt);
}

/** A listing still shows a guest whose template went missing; start then says what is wrong. */
function idsOrUndefined(deps: Deps, cfg: GuestSummary): IdRange | undefined {
  try {
    return guestIds(deps, cfg);
  } catch {
    return undefined;
  }
}

/** idsOrUndefined for a listing: each template's config is read once, however many guests share it. */
function idsReader(deps: Deps): (cfg: GuestSummary) => IdRange | undefined {
  const shared = new Map<string, IdRange | undefined>();
  return (cfg) => {
    if (cfg.privileged || cfg.backend !== 'overlay' || cfg.template === undefined) return idsOrUndefined(deps, cfg);
    if (!shared.has(cfg.template)) shared.set(cfg.template, idsOrUndefined(deps, cfg));
    return shared.get(cfg.template);
  };
}

function reownWarning(deps: Deps, name: string): string | undefined {
  try {
    checkNotReowning(deps, name);
    return undefined;
  } catch (e) {
    return e instanceof VsError ? `${e.message}; ${e.hint ?? ''}` : String(e);
  }
}
