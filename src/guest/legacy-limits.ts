// util-vserver's limits, capabilities and context flags, translated to the guest TOML (pure).
// Formats: the "flower page" (util-vserver doc/configuration.xml, nongnu.org/util-vserver/doc/conf/
// configuration.html): rlimits/RES[.hard|.soft|.min] hold a number or "inf"; bcapabilities,
// ccapabilities and flags hold one name per line (lib/bcaps-v13.c takes names with or without
// CAP_; lib/ccaps-v13.c and lib/cflags-v13.c list the others); cpuset/{cpus,mems,...}. The cgroup
// directory holds files named after the cgroup (v1) file they are written to, such as cpu.shares
// (linux-vserver.org, util-vserver:Cgroups). Context limits rss and as count pages (Memory_Limits).
import { isCapabilityName, normalizeCapability } from '../oci/capabilities.js';
import type { Sink } from './legacy-types.js';

const PAGE = 4096;

/** Per-process limits that keep their meaning as POSIX rlimits. */
const POSIX_RLIMITS = new Set(['cpu', 'fsize', 'data', 'stack', 'core', 'nofile', 'memlock', 'locks', 'msgqueue']);
/** Context-wide limits of the VServer kernel that have no counterpart. */
const CONTEXT_ONLY: Record<string, string> = {
  as: 'the address space of all processes together has no cgroup limit; limit memory with limits.memory.max',
  nsock: 'sockets per context have no limit here; rlimits.nofile bounds them per process',
  openfd: 'open files per context have no limit here; rlimits.nofile bounds them per process',
  anon: 'anonymous memory is counted in the memory cgroup: set limits.memory.max',
  shmem: 'shared memory is counted in the memory cgroup: set limits.memory.max',
  semary: "semaphore arrays per context have no limit; the guest's own IPC namespace keeps them apart",
  nsems: "semaphores per context have no limit; the guest's own IPC namespace keeps them apart",
  dentry: 'dentries per context have no limit here',
};

function legacyNumber(text: string): number | 'unlimited' | undefined {
  const t = text.trim().split('\n')[0]!.trim();
  if (t === 'inf' || t === '-1') return 'unlimited';
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

/** rlimits/*: soft and hard per resource, from RES (both), RES.soft and RES.hard. */
export function translateRlimits(files: Map<string, string>, sink: Sink): void {
  const byRes = new Map<string, { both?: string; soft?: string; hard?: string; files: string[] }>();
  for (const [file, text] of files) {
    const m = /^rlimits\/([a-z]+)(?:\.(hard|soft|min))?$/.exec(file);
    if (!m) {
      sink.not(file, 'not an rlimits file util-vserver knows; set limits with vserver limit');
      continue;
    }
    const [, res, part] = m as unknown as [string, string, string | undefined];
    if (part === 'min') {
      sink.not(file, 'a guaranteed minimum has no counterpart; the memory cgroup reclaims fairly without one');
      continue;
    }
    const r = byRes.get(res) ?? { files: [] };
    r.files.push(file);
    r[part === 'hard' ? 'hard' : part === 'soft' ? 'soft' : 'both'] = text;
    byRes.set(res, r);
  }
  for (const [res, r] of byRes) {
    const hardText = r.hard ?? r.both;
    const softText = r.soft ?? r.both;
    const hard = hardText === undefined ? 'unlimited' : legacyNumber(hardText);
    const soft = softText === undefined ? hard : legacyNumber(softText);
    if (hard === undefined || soft === undefined) {
      for (const f of r.files) sink.not(f, 'is not a number or "inf"; set the limit with vserver limit');
      continue;
    }
    const pages = (n: number | 'unlimited') => (n === 'unlimited' ? 'max' : n * PAGE);
    if (res === 'rss') {
      // the context's resident memory: what the memory cgroup limits
      if (hard !== 'unlimited') for (const f of r.files) sink.set(f, 'limits.memory.max', pages(hard), `${hard} pages of ${PAGE} bytes`);
      if (soft !== 'unlimited' && soft !== hard)
        sink.set(r.files[0]!, 'limits.memory.high', pages(soft), 'the soft limit slows the guest down above it');
      if (hard === 'unlimited') for (const f of r.files) sink.covered(f, 'unlimited: the default');
    } else if (res === 'nproc') {
      // a context-wide process count: the pids cgroup
      for (const f of r.files) {
        if (hard === 'unlimited') sink.covered(f, 'unlimited: the default');
        else sink.set(f, 'limits.pids.max', hard, 'processes of the whole guest');
      }
      if (soft !== hard) sink.note(r.files[0]!, 'the pids cgroup has one limit; the hard one was taken');
    } else if (POSIX_RLIMITS.has(res)) {
      const one = (n: number | 'unlimited') => (n === 'unlimited' ? 'unlimited' : res === 'memlock' ? n * PAGE : n);
      const value = soft === hard ? one(hard) : `${one(soft)}:${one(hard)}`;
      for (const f of r.files)
        sink.set(f, `limits.rlimits.${res}`, value, 'per process, as POSIX rlimits are (the VServer kernel also counted it per guest)');
    } else {
      for (const f of r.files) sink.not(f, CONTEXT_ONLY[res] ?? `the resource '${res}' is unknown; set limits with vserver limit`);
    }
  }
}

/** bcapabilities: one capability a line, added to the default set; !NAME or ~NAME takes one away. */
export function translateBcaps(text: string, sink: Sink): void {
  const add: string[] = [];
  const drop: string[] = [];
  const bad: string[] = [];
  for (const line of lines(text)) {
    const neg = /^[!~]/.test(line);
    const name = normalizeCapability(neg ? line.slice(1) : line);
    if (!isCapabilityName(name)) bad.push(line);
    else (neg ? drop : add).push(name);
  }
  if (add.length > 0) sink.add('bcapabilities', 'security.capabilities.add', add, "on top of the default set, util-vserver's secure set");
  if (drop.length > 0) sink.add('bcapabilities', 'security.capabilities.drop', drop, 'taken from the default set');
  if (bad.length > 0)
    sink.not(
      'bcapabilities',
      `${bad.join(', ')}: not Linux capabilities; add the ones meant with vserver config NAME security.capabilities.add`,
    );
  if (add.length === 0 && drop.length === 0 && bad.length === 0) sink.covered('bcapabilities', 'empty: the default set applies');
}

/** ccapabilities (lib/ccaps-v13.c): what each context capability becomes here. */
const CCAPS: Record<string, { cap?: string; covered?: string; not?: string }> = {
  set_utsname: { covered: 'the guest has a UTS namespace of its own; its root may set its host name' },
  set_rlimit: { cap: 'CAP_SYS_RESOURCE' },
  raw_icmp: { cap: 'CAP_NET_RAW' },
  syslog: { cap: 'CAP_SYSLOG' },
  secure_mount: { covered: 'guest root may mount what its user namespace allows (proc, tmpfs, bind mounts)' },
  secure_remount: { covered: 'guest root may remount what it mounted' },
  binary_mount: { not: 'mounting with binary options is not allowed in a user namespace; mount from the host instead' },
  quota_ctl: { not: 'quota control is not delegated to guests; use vserver du, and project quotas on the host' },
  admin_mapper: { not: 'device-mapper administration stays with the host' },
  admin_cloop: { not: 'loop devices stay with the host: set them up there and bind-mount the result' },
  admin_netdev: { not: 'creating network devices is done by the host: give the guest more interfaces' },
};

export function translateCcaps(text: string, sink: Sink): void {
  const add: string[] = [];
  for (const line of lines(text)) {
    const key = line
      .replace(/^[!~^]/, '')
      .toLowerCase()
      .replace(/^vxc_/, '');
    const c = CCAPS[key];
    if (!c) sink.not('ccapabilities', `${line}: unknown context capability; nothing was set for it`);
    else if (c.cap) add.push(c.cap);
    else if (c.covered) sink.covered('ccapabilities', `${line}: ${c.covered}`);
    else sink.not('ccapabilities', `${line}: ${c.not}`);
  }
  if (add.length > 0) sink.add('ccapabilities', 'security.capabilities.add', add, 'the capability that allows the same');
}

/** flags / cflags (lib/cflags-v13.c). */
const FLAGS: Record<string, { covered?: string; not?: string }> = {
  lock: { covered: 'processes cannot leave the guest: namespaces' },
  private: { covered: 'nothing from outside joins the guest except vserver exec' },
  namespace: { covered: 'every guest has its own mount namespace' },
  hideinfo: { covered: 'the guest sees only its own processes' },
  fakeinit: { covered: "init is process 1 in the guest's own PID namespace" },
  hide_mount: { covered: 'the guest sees only its own mounts' },
  hide_netif: { covered: 'the guest sees only its own network devices' },
  virt_mem: { covered: 'lxcfs shows the guest its own memory when installed (host setting lxcfs = "auto")' },
  virt_uptime: { covered: 'lxcfs shows the guest its own uptime when installed' },
  virt_cpu: { covered: 'lxcfs shows the guest its own CPUs when installed' },
  virt_load: { covered: 'lxcfs shows the guest its own load when installed' },
  secure: { covered: 'a pseudo flag (hide_netif): the guest sees only its own network devices' },
  default: { covered: 'a pseudo flag (virt_uptime): lxcfs shows the guest its own uptime' },
  state_setup: { covered: 'set by the old tools while starting; nothing to keep' },
  state_init: { covered: 'set by the old tools while starting; nothing to keep' },
  nproc: { not: 'limit the processes of the whole guest with limits.pids.max' },
  ulimit: { not: 'limits are per guest already: set limits.rlimits or limits.pids.max' },
  sched_hard: { not: 'a hard CPU limit is limits.cpu.max (cores, for example 0.5)' },
  sched_prio: { not: 'a CPU share is limits.cpu.weight' },
  sched_pause: { not: 'there is no pause at start; start the guest when it should run' },
  sc_helper: { not: 'there is no vshelper; reboot and halt inside the guest stop it' },
  reboot_kill: { not: 'a reboot inside the guest stops it; restart it with vserver restart' },
  persistent: { not: 'a guest without processes is stopped; keep a process running (init)' },
  fork_rss: { not: 'limit memory with limits.memory.max' },
  prolific: { not: 'limit processes with limits.pids.max' },
  igneg_nice: { not: 'give the guest CAP_SYS_NICE with security.capabilities.add if it must raise priorities' },
};

export function translateFlags(file: string, text: string, sink: Sink): void {
  for (const line of lines(text)) {
    const key = line.replace(/^[!~^]/, '').toLowerCase();
    const f = FLAGS[key];
    if (!f) sink.not(file, `${line}: unknown flag; nothing was set for it`);
    else if (f.covered) sink.covered(file, `${line}: ${f.covered}`);
    else sink.not(file, `${line}: ${f.not}`);
  }
}

/** cgroup/FILE: the cgroup v1 file of that name; cpuset/cpus. */
export function translateCgroup(files: Map<string, string>, sink: Sink): void {
  const value = (f: string) => files.get(f)?.trim().split('\n')[0]?.trim() ?? '';
  const num = (f: string) => (/^\d+$/.test(value(f)) ? Number(value(f)) : undefined);
  for (const file of files.keys()) {
    const knob = file.replace(/^cgroup\//, '');
    const n = num(file);
    switch (knob) {
      case 'cpu.shares':
        if (n === undefined) sink.not(file, 'is not a number');
        else sink.set(file, 'limits.cpu.shares', Math.min(262144, Math.max(2, n)), 'the relative CPU share');
        break;
      case 'cpu.cfs_quota_us': {
        const period = num('cgroup/cpu.cfs_period_us') ?? 100000;
        if (n === undefined || value(file) === '-1') sink.covered(file, 'no quota: the default');
        else sink.set(file, 'limits.cpu.max', Math.round((n / period) * 100) / 100, `${n} µs of CPU time in each ${period} µs`);
        break;
      }
      case 'cpu.cfs_period_us':
        sink.covered(file, 'used with cpu.cfs_quota_us for limits.cpu.max');
        break;
      case 'memory.limit_in_bytes':
        if (n === undefined) sink.not(file, 'is not a number of bytes');
        else sink.set(file, 'limits.memory.max', n, 'the hard memory limit');
        break;
      case 'memory.soft_limit_in_bytes':
        if (n === undefined) sink.not(file, 'is not a number of bytes');
        else sink.set(file, 'limits.memory.high', n, 'the soft limit: above it the guest is slowed and reclaimed');
        break;
      case 'memory.memsw.limit_in_bytes': {
        const mem = num('cgroup/memory.limit_in_bytes');
        if (n === undefined || mem === undefined)
          sink.not(file, 'needs memory.limit_in_bytes beside it (swap counts on top of memory.max here)');
        else sink.set(file, 'limits.memory.swap', Math.max(0, n - mem), 'memory+swap less memory: the swap on top of memory.max');
        break;
      }
      case 'cpuset.cpus':
        sink.set(file, 'limits.cpu.cpuset', value(file), 'the CPUs the guest runs on');
        break;
      case 'pids.max':
        sink.set(file, 'limits.pids.max', value(file) === 'max' ? 'max' : (n ?? value(file)), 'processes of the whole guest');
        break;
      case 'blkio.weight':
        if (n === undefined) sink.not(file, 'is not a number');
        else sink.set(file, 'limits.io.weight', Math.min(1000, Math.max(10, n)), 'the relative share of disk time');
        break;
      case 'name':
      case 'mnt':
      case 'inherit':
        sink.covered(file, "how the old tools named and found the cgroup; vserver names each guest's cgroup itself");
        break;
      default:
        sink.not(file, `cgroup file ${knob} has no key here; see 'vserver limit NAME' for the limits there are`);
    }
  }
}

export function translateCpuset(files: Map<string, string>, sink: Sink): void {
  for (const [file, text] of files) {
    const knob = file.replace(/^cpuset\//, '');
    if (knob === 'cpus') sink.set(file, 'limits.cpu.cpuset', text.trim(), 'the CPUs the guest runs on');
    else if (knob === 'name' || knob === 'nocreate') sink.covered(file, "vserver makes and names the guest's cpuset itself");
    else if (knob === 'mems')
      sink.not(file, "memory nodes are not set per guest; on a NUMA host, pin the guest with limits.cpu.cpuset to one node's CPUs");
    else sink.not(file, `${knob}: exclusive cpusets are not made per guest; give each guest its own CPUs with limits.cpu.cpuset`);
  }
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l !== '');
}
