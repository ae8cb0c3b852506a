// A pool of bridges on one subnet: a Linux bridge holds at most 1024 ports, so when the bridge of the
// pool is full, guests spill to vsbr0-1, vsbr0-2, ..., each joined to the one before it by a veth
// pair, so that one segment with one gateway (on the first bridge) serves all of them. Pure.
import { VsError } from '../util/errors.js';

/** Alias of both ends of the veth pair that joins a spill bridge to the bridge before it. */
export const uplinkAlias = (tag: string) => `${tag}/uplink`;

/** Bridges after the first in a pool; enough for any address pool a context number can fill. */
const MAX_SPILL = 99;

export interface SpillBridge {
  /** The bridge: NAME-K. */
  name: string;
  /** The bridge before it in the chain. */
  parent: string;
  /** The veth pair joining them: `up` is a port of the parent, `down` a port of this bridge. */
  up: string;
  down: string;
}

/** The k-th bridge of the pool named `first` (k >= 1). */
export function spillBridge(first: string, k: number): SpillBridge {
  const name = `${first}-${k}`;
  return { name, parent: k === 1 ? first : `${first}-${k - 1}`, up: `${name}u`, down: `${name}d` };
}

/** k when `name` is a spill bridge of the pool named `first`, else undefined. */
export function spillIndex(first: string, name: string): number | undefined {
  if (!name.startsWith(`${first}-`)) return undefined;
  const k = name.slice(first.length + 1);
  return /^[1-9]\d*$/.test(k) ? Number(k) : undefined;
}

/**
 * The bridge of the pool a guest's interface joins: the first whose guests leave a port for the
 * link to the next bridge (and, after the first, for the link to the one before). `guests` counts
 * the recorded guests' interfaces on each bridge.
 */
export function chooseBridge(first: string, cap: number, guests: ReadonlyMap<string, number>): { name: string; spill?: SpillBridge } {
  if ((guests.get(first) ?? 0) < cap - 1) return { name: first };
  for (let k = 1; k <= MAX_SPILL; k++) {
    const s = spillBridge(first, k);
    if (`${s.name}u`.length > 15) {
      throw new VsError(
        'NETWORK_FAILED',
        `bridge ${first} is full (${cap} ports) and its name is too long for the next bridge of the pool (${s.up}: at most 15 characters)`,
        'set network.bridge in vserver.toml to a name of at most 11 characters, so that guests can spill to NAME-1, NAME-2, ...',
      );
    }
    if ((guests.get(s.name) ?? 0) < cap - 2) return { name: s.name, spill: s };
  }
  throw new VsError(
    'NETWORK_FAILED',
    `all ${MAX_SPILL + 1} bridges of the pool ${first} are full (${cap} ports each)`,
    'raise network.bridge_ports in vserver.toml (at most 1024), or stop guests',
  );
}
