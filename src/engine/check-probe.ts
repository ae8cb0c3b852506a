// Gathers what `vserver check` judges: kernel features, cgroups, tools, sysctls, ids, disk, tree access.
import { existsSync, lstatSync, statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CONTEXT_MAX, CONTEXT_MIN } from '../guest/schema.js';
import { CGROUP_ROOT, detectLayout } from '../resources/cgroup.js';
import { effectiveLimits, userCounts } from '../resources/guest-defaults.js';
import { contextRange } from '../guest/idmap.js';
import { errnoOf } from '../util/errors.js';
import { readIfExists } from '../util/fs.js';
import { run } from '../util/proc.js';
import { ownRlimits } from '../util/procfs.js';
import { which } from '../util/which.js';
import type { HostFacts, TreeDirFact } from './check.js';
import { recordedContexts } from './contexts.js';
import type { Deps } from './deps.js';
import { heldElsewhere, registry } from './ranges.js';
import { guestIds } from './state.js';
import { treeDirAccess } from './tree-access.js';

const NAMESPACES = ['mnt', 'uts', 'ipc', 'pid', 'net', 'user', 'cgroup'];
const SYSCTLS = [
  'fs.inotify.max_user_instances',
  'fs.inotify.max_user_watches',
  'kernel.pid_max',
  'net.ipv4.ping_group_range',
  ...['user', 'mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup', 'time'].map((k) => `user.max_${k}_namespaces`),
];

const sysctl = (key: string) =>
  readIfExists(`/proc/sys/${key.replaceAll('.', '/')}`)
    ?.trim()
    .replace(/\s+/g, ' ');

const LINK_KINDS = ['veth', 'bridge', 'macvlan', 'ipvlan'] as const;

/**
 * Which network device kinds this kernel makes, tried for real in a network namespace of our own
 * that ends with the command (nothing is left behind, nothing touches the host's links).
 */
async function linkKinds(): Promise<Record<(typeof LINK_KINDS)[number], boolean>> {
  const script = [
    'link add name vsc0 type veth peer name vsc1',
    'link add name vsc2 type bridge',
    'link add name vsc3 link vsc0 type macvlan',
    'link add name vsc4 link vsc0 type ipvlan',
  ].join('\n');
  const unshare = which('unshare');
  const ip = which('ip');
  const r =
    unshare && ip ? await run(unshare, ['--net', ip, '-force', '-batch', '-'], { input: `${script}\n`, timeoutMs: 10_000 }) : undefined;
  const failed = new Set([...(r?.stderr ?? '').matchAll(/Command failed -:(\d+)/g)].map((m) => Number(m[1])));
  return Object.fromEntries(LINK_KINDS.map((k, i) => [k, r !== undefined && r.code !== 127 && !failed.has(i + 1)])) as Record<
    (typeof LINK_KINDS)[number],
    boolean
  >;
}

/** Whether nftables works: listing the tables of a fresh network namespace. */
async function nfTables(nft: string | undefined): Promise<boolean> {
  const unshare = which('unshare');
  return (
    nft !== undefined && unshare !== undefined && (await run(unshare, ['--net', nft, 'list', 'tables'], { timeoutMs: 10_000 })).code === 0
  );
}

const overlayfs = () => (readIfExists('/proc/filesystems') ?? '').split('\n').some((l) => l.split('\t').pop() === 'overlay');

function controllers(layout: HostFacts['cgroupLayout']): Record<string, boolean> {
  const want = layout === 'v2' ? ['cpu', 'cpuset', 'memory', 'pids', 'io'] : ['cpu', 'cpuset', 'memory', 'pids', 'blkio', 'devices'];
  const on = new Set<string>();
  if (layout === 'v2') for (const c of (readIfExists(join(CGROUP_ROOT, 'cgroup.controllers')) ?? '').split(/\s+/)) on.add(c);
  else {
    for (const l of (readIfExists('/proc/cgroups') ?? '').split('\n')) {
      const [name, , , enabled] = l.split('\t');
      if (name && !name.startsWith('#') && enabled === '1') on.add(name);
    }
  }
  return Object.fromEntries(want.map((c) => [c, on.has(c)]));
}

async function runtimeFact(deps: Deps): Promise<HostFacts['runtime']> {
  try {
    const rt = await deps.runtime();
    const r = await run(rt.path, ['--version'], { timeoutMs: 10_000 });
    const version = /version\s+(\S+)/.exec(r.stdout)?.[1] ?? (r.stdout.split('\n')[0] || 'unknown version');
    return { name: rt.name, path: rt.path, version };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

function diskFact(path: string): HostFacts['disk'] {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  try {
    const s = statfsSync(p);
    return { path: p, freeBytes: s.bavail * s.bsize, freeInodes: s.ffree };
  } catch (e) {
    return { error: `cannot read the free space of ${p}: ${errnoOf(e) ?? String(e)}` };
  }
}

function found(dir: string): TreeDirFact['found'] {
  try {
    const st = lstatSync(dir);
    if (st.isSymbolicLink()) return 'link';
    return st.isDirectory() ? { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 } : 'other';
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw e;
  }
}

function trees(deps: Deps): TreeDirFact[] {
  const out: TreeDirFact[] = [];
  for (const name of deps.templates.names()) {
    const dir = deps.paths.template(name);
    out.push({ kind: 'template', name, dir, found: found(dir), want: treeDirAccess(contextRange(deps.templates.read(name).context)) });
  }
  for (const g of deps.store.readAll()) {
    if (!g.config) continue; // an unreadable config is reported by every command that reads it
    const dir = deps.paths.guestDir(g.name);
    out.push({ kind: 'guest', name: g.name, dir, found: found(dir), want: treeDirAccess(guestIds(deps, g.config)) });
  }
  return out;
}

export async function probeHost(deps: Deps): Promise<HostFacts> {
  const defaults = deps.host().guest_defaults;
  const limits = effectiveLimits(undefined, defaults);
  const pids = limits.pids?.max;
  const mq = limits.rlimits?.msgqueue?.hard;
  const used = recordedContexts(deps);
  const elsewhere = heldElsewhere(deps, registry(deps));
  let taken = 0;
  for (let c = CONTEXT_MIN; c <= CONTEXT_MAX; c++) if (used.has(c) || elsewhere.has(c)) taken++;
  const layout = detectLayout();
  const maxUserNs = sysctl('user.max_user_namespaces');
  const nft = which('nft');
  return {
    namespaces: Object.fromEntries(NAMESPACES.map((n) => [n, existsSync(`/proc/self/ns/${n}`)])),
    maxUserNamespaces: maxUserNs === undefined ? undefined : Number(maxUserNs),
    seccomp: /^Seccomp:/m.test(readIfExists('/proc/self/status') ?? '') && existsSync('/proc/sys/kernel/seccomp/actions_avail'),
    kernel: { overlay: overlayfs(), ...(await linkKinds()), nf_tables: await nfTables(nft) },
    nft: nft !== undefined,
    cgroupLayout: layout,
    controllers: controllers(layout),
    runtime: await runtimeFact(deps),
    lxcfs: which('lxcfs'),
    debootstrap: which('debootstrap'),
    sysctl: Object.fromEntries(SYSCTLS.map((k) => [k, sysctl(k)])),
    msgqueue: ownRlimits().get('RLIMIT_MSGQUEUE')?.soft ?? Infinity,
    share: {
      pids: typeof pids === 'number' ? pids : undefined,
      msgqueue: mq === Infinity ? undefined : mq,
      user: Object.fromEntries(userCounts(defaults)) as HostFacts['share']['user'],
    },
    guests: deps.store.names().length,
    freeContexts: CONTEXT_MAX - CONTEXT_MIN + 1 - taken,
    disk: diskFact(deps.paths.lib),
    trees: trees(deps),
  };
}
