// What status and list show of a guest's network.
import { DEVICE_MODES, guestIfname } from '../guest/net-schema.js';
import type { GuestSummary } from '../guest/guest-index.js';
import { hostVethName } from '../network/names.js';
import { parsePortSpec, type PortForward } from '../util/ip.js';
import type { Deps } from './deps.js';
import { readNetState } from './network-state.js';
import type { InterfaceInfo } from './types.js';

function portText(p: string | PortForward): string {
  const f = typeof p === 'string' ? parsePortSpec(p)! : p;
  return `${f.hostPort}:${f.guestPort}/${f.proto}`;
}

/** What status and list show: the interfaces a running guest has, or else those configured. */
export function interfacesInfo(deps: Deps, name: string, cfg: GuestSummary, running: boolean): InterfaceInfo[] {
  const state = running ? readNetState(deps, name) : undefined;
  if (state) {
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
