// status, running and list: what the runtime and /proc say now.
import { checkName } from '../guest/name.js';
import type { Deps } from './deps.js';
import { interfacesInfo } from './network-info.js';
import { guestInfo, isActive, readGuest } from './state.js';
import type { GuestInfo } from './types.js';

export async function statusGuest(deps: Deps, name: string): Promise<GuestInfo> {
  checkName(name);
  const { cfg, rt } = await readGuest(deps, name);
  const info = guestInfo(name, cfg, rt);
  if (info.state !== 'stopped') info.processes = deps.cgroups().pids(deps.paths.cgroupName(name)).length;
  info.interfaces = interfacesInfo(deps, name, cfg, isActive(rt));
  return info;
}

export async function listGuests(deps: Deps): Promise<GuestInfo[]> {
  const all = deps.store.readAll();
  if (all.length === 0) return [];
  const states = new Map((await (await deps.runtime()).list()).map((s) => [s.id, s]));
  return all.map((g) => g.config
    ? { ...guestInfo(g.name, g.config, states.get(g.name)), interfaces: interfacesInfo(deps, g.name, g.config, isActive(states.get(g.name))) }
    : { name: g.name, context: 0, state: 'broken' as const, error: g.error?.message });
}

export async function isRunning(deps: Deps, name: string): Promise<boolean> {
  const { rt } = await readGuest(deps, checkName(name));
  return isActive(rt);
}
