// What PID 1 of a guest is, which signal asks it to shut down, and what else each init style needs.
import { parseSignal } from '../util/proc.js';
import type { GuestConfig } from './schema.js';

export interface InitPlan {
  args: string[];
  /** Signal number that asks this init for an orderly shutdown. */
  stopSignal: number;
  env: Record<string, string>;
  /** Capabilities this init needs beyond the default set. */
  addCapabilities: string[];
  /** systemd manages its own cgroup subtree: the cgroup mount is writable and the subtree is the guest's. */
  delegateCgroup: boolean;
  /** Extra tmpfs mounts (systemd wants /run/lock apart from /run). */
  tmpfs: string[];
}

/** Shutdown signals as each init expects them (LXC uses the same: SIGPWR for sysv-likes, RTMIN+3 for systemd). */
const STOP_SIGNAL: Record<GuestConfig['init'], string> = {
  plain: 'PWR', // busybox init and sysvinit both halt on SIGPWR
  cmd: 'TERM',
  sysv: 'PWR',
  systemd: 'RTMIN+3',
  openrc: 'PWR',
};

/** systemd is started by its own path, so a tree may also hold sysvinit as /sbin/init. */
export const SYSTEMD_PATH = '/lib/systemd/systemd';

export function initPlan(cfg: GuestConfig): InitPlan {
  const signal = parseSignal(cfg.stop_signal ?? STOP_SIGNAL[cfg.init]);
  const args = cfg.init === 'cmd' ? [...(cfg.cmd ?? [])] : cfg.init === 'systemd' ? [SYSTEMD_PATH] : ['/sbin/init'];
  return {
    args,
    stopSignal: signal?.number ?? 15,
    env: { ...cfg.env },
    // sysvinit's halt ends with reboot(2); in the guest's pid namespace that ends the guest's init
    // only (the kernel never reboots the host from a child pid namespace), so the rc scripts can finish
    addCapabilities: cfg.init === 'sysv' ? ['CAP_SYS_BOOT'] : [],
    delegateCgroup: cfg.init === 'systemd',
    tmpfs: cfg.init === 'systemd' ? ['/run/lock'] : [],
  };
}
