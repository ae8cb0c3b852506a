// A guest as the engine reports it: what the CLI prints, the API serves and the dashboard shows.
import type { GuestResources } from './resources.js';

export type GuestState = 'running' | 'stopped' | 'paused' | 'created' | 'broken';

export interface GuestInfo {
  name: string;
  context: number;
  state: GuestState;
  hostname?: string;
  init?: string;
  backend?: string;
  /** Host PID of the guest's init. */
  pid?: number;
  /** Seconds since the guest's init started. */
  uptime?: number;
  processes?: number;
  /** Why the guest's config could not be read (state 'broken'). */
  error?: string;
  privileged?: boolean;
  /** Its autostart group (the config's mark). */
  mark?: string;
  /** Host ids that guest ids 0..size-1 map to (unprivileged guests). */
  idmap?: { base: number; size: number };
  /** Limits in force and what the guest used, for a running guest (status). */
  resources?: GuestResources;
  /** The shared template under an overlay guest. */
  template?: string;
  /** An overlay guest's merged tree at rootfs: false after a reboot until mount, start, exec or export mounts it. */
  mounted?: boolean;
  /** Things the user should know that did not stop the command, for example that the guest is privileged. */
  warnings?: string[];
  /** Network interfaces: as set up while running, else as configured. Empty: loopback only. */
  interfaces?: InterfaceInfo[];
}

export interface InterfaceInfo {
  /** Name inside the guest (none for modes none and host). */
  name?: string;
  mode: string;
  /** ADDRESS/PREFIX; "auto" while a stopped guest has none chosen yet. */
  addresses: string[];
  gateways?: string[];
  /** The host end of a bridge interface's veth pair. */
  hostDevice?: string;
  bridge?: string;
  /** The host NIC shared (macvlan, ipvlan) or given (phys). */
  parent?: string;
  nat?: boolean;
  /** HOST:GUEST/PROTO */
  ports?: string[];
}
