// What a clone keeps of its source's interfaces: nothing that would clash with the source guest.
import type { InterfaceConfig } from '../guest/net-schema.js';

export interface ClonedInterfaces {
  interfaces: InterfaceConfig[] | undefined;
  /** What was changed or left out, for the administrator. */
  notes: string[];
}

/**
 * Bridge addresses become "auto" (a fresh one from the pool) and forwarded host ports are left
 * out; static addresses on shared NICs cannot be picked for the copy, so they are left out; a NIC
 * given with `phys` stays with its guest.
 */
export function cloneInterfaces(list: readonly InterfaceConfig[] | undefined): ClonedInterfaces {
  if (!list) return { interfaces: undefined, notes: [] };
  const notes: string[] = [];
  const out: InterfaceConfig[] = [];
  list.forEach((i, n) => {
    const label = `${i.name ?? `interface ${n}`} (${i.mode})`;
    if (i.mode === 'phys') {
      notes.push(`${label} is left out: host NIC ${i.parent} stays with the source guest`);
      return;
    }
    const copy: InterfaceConfig = { ...i };
    if (i.mode === 'bridge') {
      if (i.address !== undefined) copy.address = 'auto';
      if (i.address6 !== undefined) copy.address6 = 'auto';
      if (i.ports !== undefined) {
        delete copy.ports;
        notes.push(`${label}: the port forwards ${i.ports.join(', ')} are left out; a host port belongs to one guest`);
      }
    } else if (i.mode === 'macvlan' || i.mode === 'ipvlan') {
      for (const k of ['address', 'address6', 'gateway', 'gateway6'] as const) delete copy[k];
      if (i.address !== undefined || i.address6 !== undefined) {
        notes.push(`${label} has no address yet: give it one with 'vserver config NAME interfaces ...'`);
      }
    }
    out.push(copy);
  });
  return { interfaces: out, notes };
}
