// What PID 1 of a guest is, and which signal asks it to shut down, per init style.
import { parseSignal } from '../util/proc.js';
import type { GuestConfig } from './schema.js';

export interface InitPlan {
  args: string[];
  /** Signal number that asks this init for an orderly shutdown. */
  stopSignal: number;
  env: Record<string, string>;
}

/** Shutdown signals as each init expects them (LXC uses the same: SIGPWR for sysv-likes, RTMIN+3 for systemd). */
const STOP_SIGNAL: Record<GuestConfig['init'], string> = {
  plain: 'PWR', // busybox init and sysvinit both halt on SIGPWR
  cmd: 'TERM',
  sysv: 'PWR',
  systemd: 'RTMIN+3',
  openrc: 'PWR',
};

export function initPlan(cfg: GuestConfig): InitPlan {
  const signal = parseSignal(cfg.stop_signal ?? STOP_SIGNAL[cfg.init]);
  const args = cfg.init === 'cmd' ? [...(cfg.cmd ?? [])] : ['/sbin/init'];
  return { args, stopSignal: signal?.number ?? 15, env: { ...cfg.env } };
}
