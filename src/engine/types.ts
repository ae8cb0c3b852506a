// What the engine reports about a guest; the CLI prints it, the API serves it.
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

export interface BuildOptions {
  template?: string;
  context?: number;
  hostname?: string;
  init?: 'plain' | 'cmd' | 'sysv' | 'systemd' | 'openrc';
  cmd?: string[];
}
