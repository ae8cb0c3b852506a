// What a start on bridges reads of the host (its bridges and local addresses), kept for a second by
// a process that starts many guests: vserver changes bridges only under the network lock, and each
// such change either moves the records' generation or is this process's own, which forgets them.
import type { IpSession } from '../network/ip-session.js';
import type { LinkFact } from '../network/types.js';
import type { Deps } from './deps.js';
import { onlyOwnChangesSince, recordsGeneration } from './net-view.js';

export interface HostFacts {
  bridges: LinkFact[];
  local: { address: string; dev: string }[];
}

/** How long the facts are taken again: an address an administrator adds by hand in that second may be missed. */
const FACTS_FOR_MS = 1000;
const kept = new WeakMap<Deps, { at: number; gen: string; facts: HostFacts }>();

/** Whether this process holds facts a start may still take, which spares it an ip process. */
export function hostFactsKept(deps: Deps): boolean {
  const k = kept.get(deps);
  return k !== undefined && performance.now() - k.at < FACTS_FOR_MS;
}

/** The host's bridges and local addresses: kept ones while no other process changed the network, else asked of ip. */
export async function hostFacts(deps: Deps, ip: () => IpSession): Promise<HostFacts> {
  const k = kept.get(deps);
  if (k && performance.now() - k.at < FACTS_FOR_MS && onlyOwnChangesSince(deps, k.gen)) return k.facts;
  // read before the host: a change between the two only makes the next start look again
  const gen = recordsGeneration(deps);
  const at = performance.now();
  const facts = await ip().bridgesAndAddresses();
  if (gen !== undefined) kept.set(deps, { at, gen, facts });
  else kept.delete(deps);
  return facts;
}

/** After this process changed bridges, their addresses or the host's NICs: the next start reads the host again. */
export function forgetHostFacts(deps: Deps): void {
  kept.delete(deps);
}
