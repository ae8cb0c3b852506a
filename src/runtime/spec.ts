// Builds the OCI config.json of a guest from plain data; no I/O here.
import type { OciHook, OciIdMapping, OciMount, OciNamespace, OciResources, OciRlimit, OciSeccomp, OciSpec } from '../oci/types.js';

export const OCI_VERSION = '1.0.2';

export interface SpecInput {
  name: string;
  context: number;
  rootfs: string;
  hostname: string;
  /** Argument vector of the guest's PID 1. */
  args: string[];
  env?: Record<string, string>;
  cgroupsPath: string;
  capabilities: readonly string[];
  seccomp: OciSeccomp;
  /** Network namespace: undefined = a new one with loopback only; a path = join it; 'host' = share the host's. */
  netns?: string | 'host';
  extraMounts?: OciMount[];
  rlimits?: OciRlimit[];
  /** User namespace mappings; absent for a privileged guest (guest root is host root). */
  idMappings?: OciIdMapping[];
  /** cgroup limits (memory, cpu, pids, blockIO, unified); the device rules are always ours. */
  resources?: Omit<OciResources, 'devices'>;
  /** Mount the guest's cgroup tree writable (systemd manages its own subtree). */
  cgroupWritable?: boolean;
  /** createRuntime hooks: run on the host once the guest's namespaces exist, before its init runs. */
  hooks?: OciHook[];
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The /proc and /sys paths no guest may read: they leak host state or control the host. */
export const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/config.gz',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Readable but never writable from a guest. */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export function baseMounts(cgroupWritable = false): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', cgroupWritable ? 'rw' : 'ro'],
    },
    { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755', 'size=65536k'] },
  ];
}

export const DEFAULT_RLIMITS: OciRlimit[] = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 524288 }];

/** Lowers limits to the most the host lets us set (see rlimitCeiling); above that the runtime would fail the start. */
export function clampRlimits(wanted: readonly OciRlimit[], host: ReadonlyMap<string, { hard: number }>): OciRlimit[] {
  return wanted.map((r) => {
    const cap = host.get(r.type)?.hard ?? Infinity;
    const hard = Math.min(r.hard, cap);
    return { type: r.type, hard, soft: Math.min(r.soft, hard) };
  });
}

export function buildSpec(input: SpecInput): OciSpec {
  const env = { PATH, TERM: 'xterm', container: 'vserver', HOME: '/root', ...input.env };
  const namespaces: OciNamespace[] = [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }, { type: 'ipc' }, { type: 'cgroup' }];
  if (input.netns === undefined) namespaces.push({ type: 'network' });
  else if (input.netns !== 'host') namespaces.push({ type: 'network', path: input.netns });
  if (input.idMappings) namespaces.push({ type: 'user' });
  const caps = [...input.capabilities];
  return {
    ociVersion: OCI_VERSION,
    root: { path: input.rootfs, readonly: false },
    hostname: input.hostname,
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: input.args,
      env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: input.rlimits ?? DEFAULT_RLIMITS,
      // system guests need setuid programs (su, passwd), so privileges may still be gained inside
      noNewPrivileges: false,
    },
    mounts: [...baseMounts(input.cgroupWritable), ...(input.extraMounts ?? [])],
    annotations: { 'org.linux-vserver.name': input.name, 'org.linux-vserver.context': String(input.context) },
    ...(input.hooks && input.hooks.length > 0 ? { hooks: { createRuntime: input.hooks } } : {}),
    linux: {
      namespaces,
      ...(input.idMappings ? { uidMappings: input.idMappings, gidMappings: input.idMappings } : {}),
      cgroupsPath: input.cgroupsPath,
      resources: { devices: [{ allow: false, access: 'rwm' }], ...input.resources },
      seccomp: input.seccomp,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}

/** RLIM_INFINITY, which no JavaScript number can carry exactly. */
const RLIM_INFINITY = '18446744073709551615';
const INFINITY_MARK = '"@@rlim-infinity@@"';

/** config.json text: like JSON.stringify, but an unlimited rlimit is written as the kernel's RLIM_INFINITY. */
export function ociJson(spec: unknown): string {
  return JSON.stringify(spec, (_k, v: unknown) => (v === Infinity ? '@@rlim-infinity@@' : v), 1).replaceAll(INFINITY_MARK, RLIM_INFINITY);
}

export function tmpfsMount(destination: string): OciMount {
  return { destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=1777', 'size=5120k'] };
}

export interface NetworkInput {
  /** A namespace to join, 'host', or undefined for a new one with loopback only. */
  netns?: string | 'host';
  /** A sysfs the host mounted, bound at /sys, for a guest that cannot mount one of its network (mode host). */
  sysfs?: string;
  /** The host's files for the guest's /etc. */
  mounts: OciMount[];
  /** createRuntime hooks: run on the host once the guest's namespaces exist, before its init runs. */
  hooks?: OciHook[];
}

/**
 * The guest's groups, as the runtime writes them from inside the guest: a guest with a user namespace
 * can name only the ids mapped into it (the kernel refuses others), a privileged one every group.
 */
export function pingGroupRange(spec: OciSpec): string {
  const gids = spec.linux.gidMappings;
  if (!gids || gids.length === 0) return '0 2147483647';
  return `0 ${Math.max(...gids.map((m) => m.containerID + m.size)) - 1}`;
}

/** The spec with the guest's network as the host set it up. */
export function withNetwork(spec: OciSpec, net: NetworkInput): OciSpec {
  const namespaces = spec.linux.namespaces.filter((n) => n.type !== 'network');
  if (net.netns === undefined) namespaces.push({ type: 'network' });
  else if (net.netns !== 'host') namespaces.push({ type: 'network', path: net.netns });
  const sys: OciMount | undefined =
    net.sysfs === undefined
      ? undefined
      : { destination: '/sys', type: 'bind', source: net.sysfs, options: ['rbind', 'ro', 'nosuid', 'noexec', 'nodev'] };
  const mounts = spec.mounts.map((m) => (m.destination === '/sys' && sys ? sys : m));
  // the host's /etc files go right after the base mounts, before any others the spec has
  const base = new Set(baseMounts().map((m) => m.destination));
  const at = mounts.reduce((last, m, i) => (base.has(m.destination) ? i + 1 : last), 0);
  const hooks =
    net.hooks && net.hooks.length > 0 ? { ...spec.hooks, createRuntime: [...(spec.hooks?.createRuntime ?? []), ...net.hooks] } : spec.hooks;
  const { sysctl: old, ...linux } = spec.linux;
  const { 'net.ipv4.ping_group_range': _, ...sysctl } = old ?? {};
  // ping without NET_RAW: ICMP echo sockets (IPv4 and IPv6) for every group of the guest, in its own namespace only
  if (net.netns === undefined) sysctl['net.ipv4.ping_group_range'] = pingGroupRange(spec);
  return {
    ...spec,
    mounts: [...mounts.slice(0, at), ...net.mounts, ...mounts.slice(at)],
    linux: { ...linux, namespaces, ...(Object.keys(sysctl).length > 0 ? { sysctl } : {}) },
    ...(hooks ? { hooks } : {}),
  };
}
