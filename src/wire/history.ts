// A guest's charted figures over time, as the daemon keeps them and the dashboard draws them.

/** One point: rates per second over the interval before `t`, gauges at `t`. */
export interface HistoryPoint {
  /** Unix time in seconds. */
  t: number;
  /** CPU in use, in cores (1 = one core busy). */
  cpu: number;
  memory: number;
  /** Hard memory limit in bytes; null: none. */
  memoryLimit: number | null;
  rx: number;
  tx: number;
  read: number;
  write: number;
  processes: number;
}

export type HistoryRange = '5m' | '1h' | '24h';
