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
  privileged?: boolean;
  /** Host ids that guest ids 0..size-1 map to (unprivileged guests). */
  idmap?: { base: number; size: number };
  /** Things the administrator should know, for example that the guest is privileged. */
  warnings?: string[];
}

export interface BuildOptions {
  template?: string;
  context?: number;
  hostname?: string;
  init?: 'plain' | 'cmd' | 'sysv' | 'systemd' | 'openrc';
  cmd?: string[];
  /** No user namespace: guest root is host root. */
  privileged?: boolean;
}
