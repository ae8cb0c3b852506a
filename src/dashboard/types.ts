// The API's answers, as the dashboard reads them (the wire shapes, not the daemon's own types).

export interface Iface {
  name?: string;
  mode: string;
  addresses: string[];
  bridge?: string;
}

export interface Guest {
  name: string;
  context: number;
  state: string;
  hostname?: string;
  init?: string;
  backend?: string;
  pid?: number;
  uptime?: number;
  processes?: number;
  error?: string;
  privileged?: boolean;
  mark?: string;
  template?: string;
  interfaces?: Iface[];
  warnings?: string[];
  idmap?: { base: number; size: number };
  resources?: {
    limits?: Record<string, number | null | undefined>;
    usage?: Record<string, number | null | undefined>;
    events?: Record<string, number | null | undefined>;
    rlimits?: Record<string, { soft: number | null; hard: number | null }>;
    lxcfs?: { inUse: boolean; note: string };
  };
}

export interface Point {
  t: number;
  cpu: number;
  memory: number;
  memoryLimit: number | null;
  rx: number;
  tx: number;
  read: number;
  write: number;
  processes: number;
}

export type Range = '5m' | '1h' | '24h';

export interface LifecycleEvent {
  type: string;
  guest: string;
  time: string;
  detail?: Record<string, unknown>;
}

export interface BulkResultRow {
  name: string;
  action: string;
  ok: boolean;
  note?: string;
  state?: string;
  error?: string;
  code?: string;
  hint?: string;
}
