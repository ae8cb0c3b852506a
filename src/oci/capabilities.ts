// Capability sets: util-vserver's secure set is the default bounding set of a guest.

/** util-vserver's secure set of bcaps: what a guest root keeps. */
export const SECURE_SET = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_TTY_CONFIG',
  'CAP_LEASE',
  'CAP_SETFCAP',
  'CAP_AUDIT_WRITE',
] as const;

/** Added for system guests, each for a reason of its own. */
export const SYSTEM_EXTRAS = [
  // init systems and daemons (systemd, sshd, su) shrink their own bounding sets, which needs SETPCAP
  'CAP_SETPCAP',
  // package scripts create device nodes (dpkg, makedev); the device cgroup still decides what may be opened
  'CAP_MKNOD',
] as const;

export const DEFAULT_CAPABILITIES: readonly string[] = [...SECURE_SET, ...SYSTEM_EXTRAS];

/** Every capability the kernel knows, to refuse names that are not capabilities. */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

const KNOWN = new Set<string>(ALL_CAPABILITIES);

/** CAP_NET_RAW, NET_RAW and net_raw all name the same capability. */
export function normalizeCapability(name: string): string {
  const n = name.trim().toUpperCase();
  return n.startsWith('CAP_') ? n : `CAP_${n}`;
}

export function isCapabilityName(name: string): boolean {
  return KNOWN.has(normalizeCapability(name));
}

/** The bounding set after the guest's own additions and removals. */
export function capabilitySet(adjust: { add?: readonly string[]; drop?: readonly string[] } = {}): string[] {
  const set = new Set<string>(DEFAULT_CAPABILITIES);
  for (const c of adjust.add ?? []) set.add(normalizeCapability(c));
  for (const c of adjust.drop ?? []) set.delete(normalizeCapability(c));
  return ALL_CAPABILITIES.filter((c) => set.has(c));
}
