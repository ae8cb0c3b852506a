// What a config from elsewhere (an export) may keep by default: nothing that gives a guest more
// power over the host than a guest built here gets.
import type { GuestConfig } from './schema.js';

/** Interface modes that hand the guest the host's own network or one of its NICs. */
const HOST_NET_MODES = ['host', 'phys'];

export interface Untrusted {
  /** The config with every privilege-raising setting removed. */
  config: GuestConfig;
  /** Each removed setting as `key = value`, in the config file's words. */
  dropped: string[];
}

/** Removes privileged mode, added capabilities, a custom seccomp profile (a host path) and host or phys networking (pure). */
export function withoutPrivilege(cfg: GuestConfig): Untrusted {
  const dropped: string[] = [];
  const out: GuestConfig = { ...cfg };
  if (cfg.privileged) {
    dropped.push('privileged = true');
    out.privileged = false;
  }
  const sec = cfg.security;
  if (sec) {
    const add = sec.capabilities?.add ?? [];
    if (add.length > 0) dropped.push(`security.capabilities.add = ${JSON.stringify(add)}`);
    if (sec.seccomp_profile !== undefined) dropped.push(`security.seccomp_profile = ${JSON.stringify(sec.seccomp_profile)}`);
    const drop = sec.capabilities?.drop;
    out.security = drop === undefined ? undefined : { capabilities: { drop } };
    if (out.security === undefined) delete out.security;
  }
  if (cfg.interfaces) {
    const kept = cfg.interfaces.filter((i, n) => {
      if (!HOST_NET_MODES.includes(i.mode)) return true;
      dropped.push(`interfaces.${n} (mode = "${i.mode}"${i.parent === undefined ? '' : `, parent = "${i.parent}"`})`);
      return false;
    });
    out.interfaces = kept;
    if (kept.length === 0) delete out.interfaces;
  }
  return { config: out, dropped };
}
