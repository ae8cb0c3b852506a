// vserver check: what the host must offer for guests, judged from facts gathered elsewhere (pure).
import { USER_COUNTS, type UserCount } from '../guest/defaults-schema.js';

export type CheckStatus = 'OK' | 'WARN' | 'FAIL';

export interface CheckItem {
  item: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to do, when not OK. */
  fix?: string;
}

/** A directory a guest or template lives in, and the access it must have. */
export interface TreeDirFact {
  kind: 'guest' | 'template';
  name: string;
  dir: string;
  /** undefined: missing; 'link' or 'other': not a real directory. */
  found: { uid: number; gid: number; mode: number } | 'link' | 'other' | undefined;
  want: { uid: number; gid: number; mode: number };
}

export interface HostFacts {
  namespaces: Record<string, boolean>;
  /** /proc/sys/user/max_user_namespaces, undefined where the kernel has none. */
  maxUserNamespaces: number | undefined;
  seccomp: boolean;
  /** Kernel parts that worked when tried (a filesystem listed, a device made, tables listed). */
  kernel: Record<'overlay' | 'veth' | 'bridge' | 'macvlan' | 'ipvlan' | 'nf_tables', boolean>;
  nft: boolean;
  cgroupLayout: 'v1' | 'hybrid' | 'v2';
  /** Controllers guests are given limits through, and whether each is enabled. */
  controllers: Record<string, boolean>;
  runtime: { name: string; path: string; version: string } | { error: string };
  lxcfs: string | undefined;
  debootstrap: string | undefined;
  /** Host sysctls (undefined: this kernel has none). */
  sysctl: Record<string, string | undefined>;
  /** Root's RLIMIT_MSGQUEUE soft limit in bytes (Infinity: unlimited). */
  msgqueue: number;
  /** The share each guest gets. */
  share: { pids: number | undefined; msgqueue: number | undefined; user: Record<UserCount, number> };
  guests: number;
  freeContexts: number;
  disk: { path: string; freeBytes: number; freeInodes: number } | { error: string };
  trees: TreeDirFact[];
}

const GiB = 1024 ** 3;

const ok = (item: string, detail: string): CheckItem => ({ item, status: 'OK', detail });
const bad = (status: CheckStatus, item: string, detail: string, fix: string): CheckItem => ({ item, status, detail, fix });

/** A host total that must hold every guest's share and root's own (n guests, plus one for the host). */
function total(item: string, value: number | undefined, share: number | undefined, n: number, fix: string): CheckItem {
  if (value === undefined) return ok(item, 'not in this kernel');
  if (share === undefined || share === 0) return ok(item, `${value}`);
  const holds = Math.floor(value / share) - 1;
  const need = (n + 1) * share;
  if (value >= need) return ok(item, `${value}: room for ${holds} guests' shares of ${share}`);
  return bad(
    'WARN',
    item,
    `${value}: room for ${Math.max(holds, 0)} guests' shares of ${share}, this installation has ${n}`,
    `${fix} (at least ${need})`,
  );
}

const sysctlFix = (key: string) => `set ${key} in /etc/sysctl.d/60-vserver.conf and run sysctl --system`;

const modes = (m: number) => `0${(m & 0o7777).toString(8)}`;

function treeItem(t: TreeDirFact): CheckItem {
  const item = `permissions of ${t.kind} ${t.name}`;
  const fix = `chown ${t.want.uid}:${t.want.gid} ${t.dir} && chmod ${modes(t.want.mode)} ${t.dir}`;
  if (t.found === undefined) return bad('WARN', item, `${t.dir} is missing`, `vserver delete ${t.name}, or restore its tree`);
  if (t.found === 'link' || t.found === 'other') {
    return bad(
      'FAIL',
      item,
      `${t.dir} is not a real directory (${t.found === 'link' ? 'a symbolic link' : 'not a directory'})`,
      'remove it and restore the tree from a backup or an export',
    );
  }
  const f = t.found;
  if (f.uid === t.want.uid && f.gid === t.want.gid && (f.mode & 0o7777) === t.want.mode) {
    return ok(item, `${t.dir} ${f.uid}:${f.gid} ${modes(f.mode)}`);
  }
  const loose = (f.mode & 0o007) !== 0 || f.uid !== t.want.uid;
  return bad(
    loose ? 'FAIL' : 'WARN',
    item,
    `${t.dir} is ${f.uid}:${f.gid} ${modes(f.mode)}, not ${t.want.uid}:${t.want.gid} ${modes(t.want.mode)}${loose ? ': other host users can reach the tree' : ''}`,
    fix,
  );
}

export function evaluate(h: HostFacts): CheckItem[] {
  const out: CheckItem[] = [];
  const missingNs = Object.entries(h.namespaces)
    .filter(([, on]) => !on)
    .map(([k]) => k);
  out.push(
    missingNs.length === 0
      ? ok('namespaces', Object.keys(h.namespaces).join(' '))
      : bad('FAIL', 'namespaces', `missing: ${missingNs.join(' ')}`, 'use a kernel built with CONFIG_NAMESPACES and each of them'),
  );
  const u = h.maxUserNamespaces;
  out.push(
    u === undefined
      ? bad('FAIL', 'user namespaces', 'the kernel has no user namespaces', 'use a kernel built with CONFIG_USER_NS')
      : u === 0
        ? bad('FAIL', 'user namespaces', 'user.max_user_namespaces = 0: none may be made', sysctlFix('user.max_user_namespaces'))
        : ok('user namespaces', `allowed, up to ${u}`),
  );
  out.push(
    h.seccomp
      ? ok('seccomp', 'filter mode available')
      : bad('FAIL', 'seccomp', 'the kernel has no seccomp filters', 'use a kernel built with CONFIG_SECCOMP_FILTER'),
  );
  const use: Record<keyof HostFacts['kernel'], [CheckStatus, string]> = {
    overlay: ['WARN', 'overlay guests of a template'],
    veth: ['WARN', 'bridge networking'],
    bridge: ['WARN', 'bridge networking'],
    macvlan: ['WARN', 'macvlan networking'],
    ipvlan: ['WARN', 'ipvlan networking'],
    nf_tables: ['WARN', 'nat and ports'],
  };
  for (const [k, works] of Object.entries(h.kernel) as [keyof HostFacts['kernel'], boolean][]) {
    const name = k === 'overlay' ? 'overlayfs' : k;
    out.push(
      works
        ? ok(name, 'works')
        : bad(use[k][0], name, `not in this kernel: no ${use[k][1]}`, `use a kernel with ${k} (built in or as a module)`),
    );
  }
  out.push(h.nft ? ok('nft', 'installed') : bad('WARN', 'nft', 'not installed: no nat and ports', 'apt-get install nftables'));
  const off = Object.entries(h.controllers)
    .filter(([, on]) => !on)
    .map(([k]) => k);
  out.push(
    off.length === 0
      ? ok('cgroups', `${h.cgroupLayout}, controllers ${Object.keys(h.controllers).join(' ')}`)
      : bad(
          'FAIL',
          'cgroups',
          `${h.cgroupLayout}, not enabled: ${off.join(' ')}`,
          "enable them (cgroup_enable=... on the kernel command line, or in the parent's cgroup.subtree_control)",
        ),
  );
  out.push(
    'error' in h.runtime
      ? bad('FAIL', 'runtime', h.runtime.error, 'install runc (apt-get install runc), or set runtime in vserver.toml')
      : ok('runtime', `${h.runtime.name} ${h.runtime.version} (${h.runtime.path})`),
  );
  out.push(
    h.lxcfs
      ? ok('lxcfs', h.lxcfs)
      : bad('WARN', 'lxcfs', "not installed: free and uptime in guests show the host's figures", 'apt-get install lxcfs'),
  );
  out.push(
    h.debootstrap
      ? ok('debootstrap', h.debootstrap)
      : bad('WARN', 'debootstrap', 'not installed: no build --debootstrap', 'apt-get install debootstrap'),
  );

  const n = h.guests;
  for (const [key, count] of [
    ['fs.inotify.max_user_instances', 'max_inotify_instances'],
    ['fs.inotify.max_user_watches', 'max_inotify_watches'],
  ] as const) {
    const v = h.sysctl[key];
    out.push(total(key, v === undefined ? undefined : Number(v), h.share.user[count], n, sysctlFix(key)));
  }
  for (const c of USER_COUNTS.filter((k) => k.endsWith('_namespaces'))) {
    const key = `user.${c}`;
    const v = h.sysctl[key];
    // host root makes namespaces of its own too, but the guests' shares are what can run out
    const item = total(key, v === undefined ? undefined : Number(v), h.share.user[c], Math.max(n - 1, 0), sysctlFix(key));
    out.push(item);
  }
  const pidMax = h.sysctl['kernel.pid_max'];
  out.push(
    total(
      'kernel.pid_max',
      pidMax === undefined ? undefined : Number(pidMax),
      h.share.pids,
      Math.max(n - 1, 0),
      sysctlFix('kernel.pid_max'),
    ),
  );
  out.push(
    h.share.msgqueue === undefined || h.msgqueue === Infinity
      ? ok('RLIMIT_MSGQUEUE of root', h.msgqueue === Infinity ? 'unlimited' : `${h.msgqueue}`)
      : total(
          'RLIMIT_MSGQUEUE of root',
          h.msgqueue,
          h.share.msgqueue,
          Math.max(n - 1, 0),
          'raise it where vserver runs (DefaultLimitMSGQUEUE= for systemd, ulimit -q for a shell)',
        ),
  );
  out.push(
    ok(
      'net.ipv4.ping_group_range',
      `${h.sysctl['net.ipv4.ping_group_range'] ?? 'not in this kernel'} on the host; each guest's network namespace gets its own`,
    ),
  );

  out.push(
    h.freeContexts > 0
      ? ok('id ranges', `${h.freeContexts} contexts free`)
      : bad('FAIL', 'id ranges', 'no free context', 'delete guests you no longer need, or free ranges in /etc/subuid and /etc/subgid'),
  );
  if ('error' in h.disk) out.push(bad('FAIL', 'disk space', h.disk.error, 'check the installation prefix'));
  else {
    const d = h.disk;
    const detail = `${(d.freeBytes / GiB).toFixed(1)} GiB and ${d.freeInodes} inodes free under ${d.path}`;
    out.push(
      d.freeBytes < GiB / 4 || d.freeInodes < 10_000
        ? bad('FAIL', 'disk space', detail, 'free space there before building guests')
        : d.freeBytes < 2 * GiB
          ? bad('WARN', 'disk space', detail, 'a Debian guest needs about 300 MiB; free space there')
          : ok('disk space', detail),
    );
  }
  for (const t of h.trees) out.push(treeItem(t));
  if (h.trees.length === 0) out.push(ok('permissions', 'no guests or templates yet'));
  return out;
}
