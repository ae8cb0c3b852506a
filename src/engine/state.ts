// A guest's state, read back from the runtime and /proc each time, never remembered.
import type { GuestConfig } from '../guest/schema.js';
import type { RuntimeState } from '../runtime/types.js';
import { contextRange, IDS_PER_GUEST, type IdRange } from '../guest/idmap.js';
import { processUptime, systemUptime, uptimeSince } from '../util/procfs.js';
import type { GuestSummary } from '../guest/guest-index.js';
import type { Deps } from './deps.js';
import type { GuestInfo, GuestState } from './types.js';

export function toState(rt: RuntimeState | undefined): GuestState {
  if (!rt) return 'stopped';
  switch (rt.status) {
    case 'running':
      return 'running';
    case 'paused':
      return 'paused';
    case 'created':
    case 'creating':
      return 'created';
    default:
      return 'stopped';
  }
}

export function isActive(rt: RuntimeState | undefined): rt is RuntimeState {
  return rt !== undefined && (rt.status === 'running' || rt.status === 'paused');
}

/**
 * The host ids that own a guest's files and that its ids map to: its own range; the range of its
 * template for an overlay guest (the template's files are shared as they are); host ids when privileged.
 */
export function guestIds(deps: Deps, cfg: GuestSummary): IdRange {
  if (cfg.privileged) return { base: 0, size: IDS_PER_GUEST };
  if (cfg.backend === 'overlay' && cfg.template !== undefined) return contextRange(deps.templates.read(cfg.template).context);
  return contextRange(cfg.context);
}

/** hostUptime: the host's uptime in seconds, read once for a listing of many guests. */
export function guestInfo(name: string, cfg: GuestSummary, rt: RuntimeState | undefined, ids?: IdRange, hostUptime?: number): GuestInfo {
  const state = toState(rt);
  const info: GuestInfo = {
    name,
    context: cfg.context,
    state,
    hostname: cfg.hostname ?? name,
    init: cfg.init,
    backend: cfg.backend,
    privileged: cfg.privileged,
    ...(cfg.mark === undefined ? {} : { mark: cfg.mark }),
  };
  if (cfg.privileged) {
    info.warnings = ['privileged guest: no user namespace, guest root is host root; set privileged = false to isolate it'];
  } else info.idmap = ids ?? contextRange(cfg.context);
  if (cfg.template !== undefined && cfg.backend === 'overlay') info.template = cfg.template;
  if (rt && state !== 'stopped' && rt.pid > 0) {
    info.pid = rt.pid;
    // the start time in the runtime's state was checked against init's own when the state was read
    const up = rt.start === undefined ? processUptime(rt.pid) : uptimeSince(rt.start, hostUptime ?? systemUptime());
    if (up !== undefined) info.uptime = up;
  }
  return info;
}

export async function readGuest(deps: Deps, name: string): Promise<{ cfg: GuestConfig; rt: RuntimeState | undefined }> {
  const cfg = deps.store.read(name);
  const rt = await (await deps.runtime()).state(name);
  return { cfg, rt };
}
