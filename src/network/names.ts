// Names of host-wide network objects: derived from the installation and the context number, so
// that they are stable, unique across installations and at most 15 characters (IFNAMSIZ - 1).
import { NAME_PATTERN } from '../guest/name.js';

/** Host end of a guest's veth pair: vs100-0 (system installation) or v3fa2b1-100-0. */
export function hostVethName(instance: string, context: number, index: number): string {
  const i = index.toString(16);
  return instance === '' ? `vs${context}-${i}` : `v${instance}-${context}-${i}`;
}

/** Alias set on host devices made for a guest: TAG:GUEST. */
export function deviceAlias(tag: string, guest: string): string {
  return `${tag}:${guest}`;
}

/** The guest a device alias names, if the device is this installation's. */
export function aliasGuest(tag: string, alias: string | undefined): string | undefined {
  if (!alias?.startsWith(`${tag}:`)) return undefined;
  const g = alias.slice(tag.length + 1);
  return NAME_PATTERN.test(g) ? g : undefined;
}

/** A bridge this installation made carries the bare tag as its alias. */
export function bridgeAlias(tag: string): string {
  return tag;
}

/** A guest's own nftables table: TAG.GUEST (guest names have no dots, so the tag cannot be mistaken). */
export function nftTableName(tag: string, guest: string): string {
  return `${tag}.${guest}`;
}

export function tableGuest(tag: string, table: string): string | undefined {
  if (!table.startsWith(`${tag}.`)) return undefined;
  const g = table.slice(tag.length + 1);
  return NAME_PATTERN.test(g) ? g : undefined;
}
