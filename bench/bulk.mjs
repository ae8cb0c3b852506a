// Benchmark of many guests at once (not a test). N bridged busybox guests (default 100) started and
// kill-stopped with one bulk command, beside the raw runtime starting the same bundles and LXC doing
// the same with veths on a bridge; then DENSITY guests (default 1000) running at once: start time,
// memory and processes per guest, list/stat/top times, and where one start spends its time. All
// inside a network namespace of its own; everything is removed afterwards, also when it fails.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { CLI, cgroupPrefix, chosenRuntime, fmt, pool, rawBundleFrom, stopLxcfs, tempRoot, timeCommand } from './lib.mjs';
import { ensureLxc, lxcOnBridge } from './lxc.mjs';

const N = Number(process.env.BENCH_GUESTS ?? 100);
const DENSITY = Number(process.env.BENCH_DENSITY ?? 1000);
// the whole run is bounded: every command gets what is left of it, and is killed when that is up
const deadline = Date.now() + Number(process.env.BENCH_TIMEOUT_S ?? 5400) * 1000;
const left = () => Math.max(1000, deadline - Date.now());
const which = (p) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', p]).stdout.toString().trim();
if (process.getuid() !== 0 || (!which('runc') && !which('crun'))) {
  console.error('bench/bulk: needs root and runc or crun');
  process.exit(2);
}
// the raw runtime is the one vserver chose (known after the first start)
let raw;
const HOST = `vsbench-bulk-${process.pid}`;
const { root, remove } = tempRoot('bulk');
const env = { ...process.env, VSERVER_ROOT: root };
const inHost = (file, args) => ['nsenter', [`--net=/run/netns/${HOST}`, '--', file, ...args]];
const vs = (...args) => {
  const [f, a] = inHost(process.execPath, [CLI, ...args]);
  return timeCommand(f, a, { env, timeoutMs: left() });
};
const vsOut = (args, extra = {}) => {
  const [f, a] = inHost(process.execPath, [CLI, ...args]);
  return spawnSync(f, a, { env: { ...env, ...extra }, maxBuffer: 64 << 20, timeout: left() });
};
const sysctl = (key) => Number(readFileSync(`/proc/sys/${key.replaceAll('.', '/')}`, 'utf8'));
/** Entries of the benchmark host's neighbour tables (the kernel's tables are shared by all namespaces). */
const neighbours = () =>
  execFileSync('ip', ['-n', HOST, 'neigh', 'show'], { maxBuffer: 64 << 20 })
    .toString()
    .split('\n')
    .filter(Boolean).length;
const meminfo = () =>
  Object.fromEntries([...readFileSync('/proc/meminfo', 'utf8').matchAll(/^(\w+):\s+(\d+)/gm)].map((m) => [m[1], Number(m[2]) * 1024]));
const memAvailable = () => meminfo().MemAvailable;
/** Where the memory of n guests went, from two readings of /proc/meminfo: the kernel's own parts, per guest. */
const KINDS = ['AnonPages', 'Shmem', 'SUnreclaim', 'SReclaimable', 'KernelStack', 'PageTables', 'Percpu'];
const memParts = (a, b, n) => KINDS.map((k) => `${k} ${((b[k] - a[k]) / n / 1024).toFixed(0)} KB`).join(', ');
/** Processes that stay on the host for the guests (monitors, helpers): those naming this run's root. */
const toolProcesses = () =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(root);
      } catch {
        return false;
      }
    }).length;
const cgroupDir = existsSync('/sys/fs/cgroup/pids') ? '/sys/fs/cgroup/pids' : '/sys/fs/cgroup';
const guestCgroups = () => readdirSync(cgroupDir).filter((d) => d.startsWith(cgroupPrefix(root)));
/** Processes inside the guests' own cgroups, per guest. */
const guestProcesses = (n) =>
  guestCgroups().reduce((sum, d) => {
    try {
      return (
        sum +
        readFileSync(join(cgroupDir, d, 'cgroup.procs'), 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean).length
      );
    } catch {
      return sum;
    }
  }, 0) / n;
const jobs = Math.min(16, Math.max(2, availableParallelism() * 2));
const total = Math.max(N, DENSITY);
const names = Array.from({ length: total }, (_, i) => `b${i + 1}`);
const first = names.slice(0, N);
const rawIds = [];
const rawState = join(root, 'raw-state');
let lxc;
const out = [];
const say = (s) => {
  out.push(s);
  console.log(s);
};
const perGuest = (bytes, n) => `${(bytes / n / 2 ** 20).toFixed(2)} MB`;

/** Median of three runs of a CLI verb, in ms. */
async function median3(...args) {
  const t = [];
  for (let i = 0; i < 3; i++) t.push(await vs(...args));
  return t.sort((a, b) => a - b)[1];
}

/** One guest stopped and started again with VSERVER_TRACE=1: the steps of its start. */
function traceStart(g) {
  vsOut(['stop', g, '--timeout', '0']);
  const r = vsOut(['start', g], { VSERVER_TRACE: '1' });
  return r.stderr
    .toString()
    .split('\n')
    .filter((l) => l.startsWith('trace:') && !/ run ip -json -details address show$/.test(l));
}

/** n LXC containers started and kill-stopped on lxbr0: times, memory and resident processes per container. */
async function lxcRun(dir, n) {
  lxc = lxcOnBridge(HOST, join(root, dir), join(root, 'var/lib/vserver/guests', first[0], 'rootfs'), n);
  const m0 = memAvailable();
  const t0 = performance.now();
  await pool(lxc.names, jobs, (c) => lxc.start(c));
  const start = performance.now() - t0;
  const m1 = memAvailable();
  const procs = toolProcesses();
  const t1 = performance.now();
  await pool(lxc.names, jobs, (c) => lxc.kill(c));
  return { start, stop: performance.now() - t1, mem: perGuest(m0 - m1, n), procs: (procs / n).toFixed(2) };
}

/** LXC with DENSITY containers at once, after vserver's have stopped; skipped with the reason when it cannot run here. */
async function lxcDensity() {
  if (!lxc) return say(`  LXC at ${DENSITY}: skipped (LXC did not run at ${N})`);
  if (process.env.BENCH_LXC_DENSITY === '0') return say(`  LXC at ${DENSITY}: skipped (BENCH_LXC_DENSITY=0)`);
  // one bridge holds 1024 ports; LXC has no pool of bridges to spill to
  if (DENSITY > 1023) return say(`  LXC at ${DENSITY}: skipped (more than one bridge's 1023 ports, and LXC does not spill)`);
  lxc.cleanup();
  const r = await lxcRun('lxc-density', DENSITY);
  say(`  LXC at ${DENSITY}: lxc-start ${fmt(r.start)}, ${r.mem} and ${r.procs} resident processes per guest, lxc-stop -k ${fmt(r.stop)}`);
}

try {
  execFileSync('ip', ['netns', 'add', HOST]);
  execFileSync('ip', ['-n', HOST, 'link', 'set', 'lo', 'up']);
  mkdirSync(join(root, 'etc/vserver'), { recursive: true });
  // BENCH_RUNTIME=crun pins the runtime (crun on a hybrid host is used only when named)
  const pin = process.env.BENCH_RUNTIME ? `runtime = "${process.env.BENCH_RUNTIME}"\n` : '';
  writeFileSync(join(root, 'etc/vserver/vserver.toml'), `${pin}[network]\npool = "10.50.0.0/16"\n`);
  const tb = performance.now();
  await pool(names, jobs, async (g) => {
    await vs('build', g);
    // one bridged interface with an automatic address, as a user would add it to the file
    appendFileSync(join(root, 'etc/vserver/guests', `${g}.toml`), '\n[[interfaces]]\nmode = "bridge"\n');
  });
  say(`${total} bridged busybox guests built in ${fmt(performance.now() - tb)}, on ${availableParallelism()} cores, ${jobs} at a time`);

  // ---- N guests: vserver, the raw runtime, LXC
  const seqSome = first.slice(0, Math.min(10, N));
  let seq = 0;
  for (const g of seqSome) seq += await vs('start', g);
  let seqStop = 0;
  for (const g of seqSome) seqStop += await vs('stop', g, '--timeout', '0');
  raw = chosenRuntime(root);

  const m0 = memAvailable();
  const bulkStart = await vs('start', ...first);
  const m1 = memAvailable();
  const p1 = toolProcesses();
  const inside = guestProcesses(N);
  const listN = await median3('list');
  const statN = await median3('stat');
  const traceN = traceStart(first[N - 1]);
  const bundles = first.map((g) =>
    rawBundleFrom(root, g, join(root, 'raw', g), (spec) => {
      spec.linux.cgroupsPath = `/vsbench-raw-${process.pid}-${g}`;
      spec.linux.namespaces = spec.linux.namespaces.map((n) => (n.type === 'network' ? { type: 'network' } : n));
      delete spec.hooks;
    }),
  );
  const bulkStop = await vs('stop', ...first, '--timeout', '0');

  const rawLog = openSync(join(root, 'raw.log'), 'a');
  const rt0 = performance.now();
  await pool(bundles, jobs, async (b, i) => {
    const id = `raw${i}`;
    rawIds.push(id);
    await timeCommand(raw.path, ['--root', rawState, 'run', '-d', '--bundle', b, id], {
      stdio: ['pipe', rawLog, rawLog],
      timeoutMs: left(),
    });
  });
  const rawStart = performance.now() - rt0;
  closeSync(rawLog);
  const rk0 = performance.now();
  await pool(rawIds, jobs, (id) => timeCommand(raw.path, ['--root', rawState, 'delete', '--force', id], { timeoutMs: left() }));
  const rawStop = performance.now() - rk0;
  rawIds.length = 0;

  let lxcLine = [];
  const have = ensureLxc();
  if (have.ok) {
    const r = await lxcRun('lxc', N);
    lxcLine = [r.start, r.stop, r.mem, r.procs];
    say(`LXC ${execFileSync('lxc-start', ['--version']).toString().trim()}${have.installed ? ' (installed by this benchmark)' : ''}`);
  } else say(`LXC: ${have.reason}`);

  say(`\n${N} bridged guests, ${jobs} at a time, under ${raw.name}`);
  say(
    `  one 'vserver start' per guest        ${fmt(seq / seqSome.length)} per guest; stop --timeout 0 ${fmt(seqStop / seqSome.length)} (${seqSome.length} guests)`,
  );
  say(
    `  vserver start (bulk)                 ${fmt(bulkStart)}   raw ${raw.name} run -d ${fmt(rawStart)} (no network): ${(bulkStart / rawStart).toFixed(2)}x` +
      (lxcLine.length ? `   lxc-start ${fmt(lxcLine[0])}: ${(bulkStart / lxcLine[0]).toFixed(2)}x` : '') +
      '   budget 1.25 s',
  );
  say(
    `  vserver stop --timeout 0 (bulk)      ${fmt(bulkStop)}   raw ${raw.name} delete --force ${fmt(rawStop)}: ${(bulkStop / rawStop).toFixed(2)}x` +
      (lxcLine.length ? `   lxc-stop -k ${fmt(lxcLine[1])}: ${(bulkStop / lxcLine[1]).toFixed(2)}x` : '') +
      '   budget 1 s',
  );
  say(
    `  memory per running guest             vserver ${perGuest(m0 - m1, N)}${lxcLine.length ? `   LXC ${lxcLine[2]}` : ''} (MemAvailable before and after)`,
  );
  say(
    `  resident processes per guest         vserver ${(p1 / N).toFixed(2)}${lxcLine.length ? `   LXC ${lxcLine[3]}` : ''} (besides the guest's own: vserver ${inside.toFixed(2)} in its cgroup)`,
  );
  say(`  vserver list / stat                  ${fmt(listN)} / ${fmt(statN)}`);
  say(`  one start with ${N - 1} others running:\n${traceN.map((l) => `    ${l}`).join('\n')}`);

  // ---- DENSITY guests at once
  if (DENSITY > 0) {
    // the host's ARP/NDP table holds gc_thresh3 entries, across all namespaces: more guests talking at once overflow it
    const thresh = sysctl('net.ipv4.neigh.default.gc_thresh3');
    if (DENSITY + 16 > thresh) {
      say(
        `\nnote: net.ipv4.neigh.default.gc_thresh3 is ${thresh}: ${DENSITY} guests that all talk at once would overflow the neighbour table ` +
          `("neighbour table overflow" in dmesg); this benchmark only starts them, and does not change the host (sysctl -w net.ipv4.neigh.default.gc_thresh3=${2 * DENSITY + 1024} would)`,
      );
    }
    const di0 = meminfo();
    const ds = await vs('start', '--all');
    const di1 = meminfo();
    const [dm0, dm1] = [di0.MemAvailable, di1.MemAvailable];
    const dp1 = toolProcesses();
    const dInside = guestProcesses(DENSITY);
    const listD = await median3('list');
    const statD = await median3('stat');
    const topD = (await median3('top', '--delay', '1')) - 1000;
    const links = JSON.parse(vsOut(['list', '--json']).stdout.toString());
    const running = links.filter((g) => g.state === 'running').length;
    const veths = JSON.parse(execFileSync('ip', ['-n', HOST, '-json', 'link', 'show', 'type', 'veth'], { maxBuffer: 64 << 20 }).toString());
    const cgroups = guestCgroups().length;
    const addrs = new Set(links.flatMap((g) => g.interfaces?.flatMap((i) => i.addresses) ?? []));
    const traceD = traceStart(names[DENSITY - 1]);
    // the same start by another build (BENCH_BEFORE_CLI: its dist/vserver.cjs), to compare with
    const before = process.env.BENCH_BEFORE_CLI;
    let beforeMs;
    if (before && existsSync(before)) {
      vsOut(['stop', names[DENSITY - 1], '--timeout', '0']);
      const [f, a] = inHost(process.execPath, [before, 'start', names[DENSITY - 1]]);
      beforeMs = await timeCommand(f, a, { env, allowFail: true, timeoutMs: left() });
    }
    const neigh = neighbours();
    // BENCH_HOLD_S=N keeps the DENSITY guests running up to N more seconds (until the file HOLD is
    // removed), for profiling a verb by hand
    const hold = Number(process.env.BENCH_HOLD_S ?? 0);
    if (hold > 0) {
      const file = join(root, 'HOLD');
      writeFileSync(file, '');
      console.error(
        `bench/bulk: holding ${hold} s or until ${file} is removed: VSERVER_ROOT=${root} nsenter --net=/run/netns/${HOST} node ${CLI} ...`,
      );
      const end = Date.now() + Math.min(hold * 1000, left());
      while (Date.now() < end && existsSync(file)) await new Promise((r) => setTimeout(r, 500));
    }
    const dstop = await vs('stop', '--all', '--timeout', '0');
    say(`\n${DENSITY} bridged guests at once`);
    say(`  vserver start --all                  ${fmt(ds)} (${fmt(ds / DENSITY)} per guest); ${running} running`);
    say(`  memory per running guest             ${perGuest(dm0 - dm1, DENSITY)} (MemAvailable before and after)   budget 0.4 MB`);
    say(`    of which, per guest: ${memParts(di0, di1, DENSITY)}`);
    say(
      `  resident processes per guest         ${(dp1 / DENSITY).toFixed(3)} (${dp1} for all: goal 0), ${dInside.toFixed(2)} of the guest's own in its cgroup`,
    );
    say(
      `  unique: ${veths.length} host veths (${new Set(veths.map((v) => v.ifname)).size} names), ${addrs.size} addresses, ${cgroups} cgroups`,
    );
    say(`  vserver list / stat / top sampling   ${fmt(listD)} / ${fmt(statD)} / ${fmt(topD)}   budgets 300 ms / 500 ms`);
    say(`  vserver stop --all --timeout 0       ${fmt(dstop)}`);
    say(`  neighbour entries on the host side   ${neigh} (gc_thresh3 ${thresh})`);
    say(`  one start with ${DENSITY - 1} others running:\n${traceD.map((l) => `    ${l}`).join('\n')}`);
    if (beforeMs !== undefined) say(`  the same start by the code before (no trace): ${fmt(beforeMs)}`);
    await lxcDensity();
  }
} finally {
  // each step on its own, so that one that fails leaves the others to do their part
  const step = async (fn) => {
    try {
      await fn();
    } catch (e) {
      console.error(`bench/bulk: cleaning up: ${e.message}`);
    }
  };
  await step(() => {
    for (const id of rawIds) spawnSync(raw.path, ['--root', rawState, 'delete', '--force', id]);
  });
  await step(() => lxc?.cleanup());
  await step(() => {
    const [f, a] = inHost(process.execPath, [CLI, 'stop', '--all', '--timeout', '0']);
    spawnSync(f, a, { env, stdio: 'ignore', timeout: 1_800_000 });
  });
  await step(() => stopLxcfs(root));
  spawnSync('ip', ['netns', 'del', HOST]);
  // the guests' trees and everything else of this installation are under its own root
  remove();
  if (existsSync(root)) console.error(`bench/bulk: could not remove ${root}`);
}
