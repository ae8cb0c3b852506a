// What status and list show of a guest's network.
import { DEVICE_MODES, guestIfname } from '../guest/net-schema.js';
import type { GuestSummary } from '../guest/guest-index.js';
import { hostVethName } from '../network/names.js';
import { parsePortSpec, type PortForward } from '../util/ip.js';
import type { Deps } from './deps.js';
import { isStateFile, parseNetState, readNetState, stateName } from './network-state.js';
import { keptCache } from '../util/file-cache.js';
import { isString, isStrings } from '../util/guards.js';
import type { NetPlan } from '../network/types.js';
import type { InterfaceInfo } from './types.js';

function portText(p: string | PortForward): string {
  const f = typeof p === 'string' ? parsePortSpec(p)! : p;
  return `${f.hostPort}:${f.guestPort}/${f.proto}`;
}

/** What status shows: the interfaces a running guest has, or else those configured. */
export function interfacesInfo(deps: Deps, name: string, cfg: GuestSummary, running: boolean): InterfaceInfo[] {
  const state = running ? readNetState(deps, name) : undefined;
  return state ? recorded(state) : configured(deps, cfg);
}

/** What list shows: the interfaces recorded at the guest's start (from recordedInterfaces) while it runs, or else those configured. */
export const listedInterfaces = (deps: Deps, cfg: GuestSummary, running: InterfaceInfo[] | undefined): InterfaceInfo[] =>
  running ?? configured(deps, cfg);

/**
 * The interfaces each recorded start set up, by guest name, kept between processes: records are only
 * replaced whole or removed, so a listing of a thousand guests reads none of them while their
 * directory is unchanged.
 */
export function recordedInterfaces(deps: Deps): Map<string, InterfaceInfo[]> {
  const cache = keptCache(deps.paths.netShown, isInterfaceList);
  const found = cache.scan(deps.paths.netStateDir, isStateFile, (file, text) => recorded(parseNetState(deps, stateName(file), text)));
  cache.save();
  return new Map([...found].map(([file, list]) => [stateName(file), list]));
}

function recorded(state: NetPlan): InterfaceInfo[] {
  return state.interfaces.map((i) => ({
    name: i.name,
    mode: i.mode,
    addresses: i.addresses,
    gateways: i.gateways,
    hostDevice: i.hostDevice,
    bridge: i.bridge,
    parent: i.parent,
    nat: i.nat || undefined,
    ports: i.ports.length > 0 ? i.ports.map(portText) : undefined,
  }));
}

function configured(deps: Deps, cfg: GuestSummary): InterfaceInfo[] {
  const list = cfg.interfaces ?? [];
  return list.map((i, n) => {
    if (!DEVICE_MODES.includes(i.mode)) return { mode: i.mode, addresses: [] };
    const bridge = i.mode === 'bridge' ? (i.bridge ?? deps.host().network.bridge) : undefined;
    return {
      name: guestIfname(list, n),
      mode: i.mode,
      addresses: bridge && !i.address && !i.address6 ? ['auto'] : [i.address, i.address6].filter((a): a is string => a !== undefined),
      hostDevice: bridge ? hostVethName(deps.paths.instance, cfg.context, n) : undefined,
      bridge,
      parent: i.parent,
      nat: i.nat,
      ports: i.ports?.map(portText),
    };
  });
}

const maybe = (v: unknown, is: (v: unknown) => boolean) => v === undefined || is(v);
/** What a kept entry must be to be used: a list of interfaces as recorded() makes them. */
function isInterfaceList(v: unknown): v is InterfaceInfo[] {
  return (
    Array.isArray(v) &&
    v.every((x) => {
      const i = x as Record<string, unknown> | null;
      return (
        typeof i === 'object' &&
        i !== null &&
        isString(i.mode) &&
        isStrings(i.addresses) &&
        [i.name, i.hostDevice, i.bridge, i.parent].every((f) => maybe(f, isString)) &&
        [i.gateways, i.ports].every((f) => maybe(f, isStrings)) &&
        maybe(i.nat, (n) => n === true)
      );
    })
  );
}
