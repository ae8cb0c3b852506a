// Benchmark of watching many guests (not a test): with N running busybox guests (default 100),
//   vserver stat            vs  ps -e  (and lxc-ls -f where LXC is installed)
//   vserver ps -e           vs  ps -e
//   vserver top (live)      vs  procps top -d 1: CPU per one-second refresh, in a pseudo-terminal
// Budgets: vserver stat <= 300 ms with 100 guests; vserver top <= 5 % of one core.
// Run as root after `npm run build`. The guests are started in parallel batches and all removed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupPrefix, CLI, compare, fmt, report, stopLxcfs, tempRoot, timeCommand } from './lib.mjs';

const GUESTS = Number(process.env.BENCH_GUESTS ?? 100);
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const BATCH = Number(process.env.BENCH_BATCH ?? 8);
const TOP_SECONDS = Number(process.env.BENCH_TOP_SECONDS ?? 10);
const CLK_TCK = 100;
const which = (p) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', p]).stdout.toString().trim();
if (process.getuid() !== 0 || (!which('runc') && !which('crun'))) {
  console.error('bench/limits: needs root and runc or crun');
  process.exit(2);
}

const { root, remove } = tempRoot('limits');
const env = { ...process.env, VSERVER_ROOT: root };
const vs = (args, opts = {}) => timeCommand(process.execPath, [CLI, ...args], { env, ...opts });
const names = Array.from({ length: GUESTS }, (_, i) => `g${String(i).padStart(3, '0')}`);

/** Runs fn over the items, `width` at a time. */
async function inBatches(items, width, fn) {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** The descendant of `pid` whose command line matches `re`. */
function findDescendant(pid, re) {
  const children = new Map();
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      /* gone */
    }
  }
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift();
    try {
      if (p !== pid && re.test(readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim())) return p;
    } catch {
      /* gone */
    }
    queue.push(...(children.get(p) ?? []));
  }
  return undefined;
}

/**
 * Runs a full-screen program in a pseudo-terminal (util-linux script) and returns the CPU share of
 * one core it used over `seconds` of steady refreshing, after a warm-up.
 */
async function liveCpu(cmd, match, seconds) {
  const child = spawn('script', ['-qfc', cmd, '/dev/null'], {
    env: { ...env, TERM: 'xterm', COLUMNS: '120', LINES: '40' },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  try {
    await new Promise((r) => setTimeout(r, 2500));
    const pid = findDescendant(child.pid, match);
    if (pid === undefined) throw new Error(`${cmd}: process not found`);
    const c0 = cpuSeconds(pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const share = (cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000);
    child.stdin.write('q');
    return share;
  } finally {
    await new Promise((r) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        r();
      }, 3000);
      child.on('exit', () => {
        clearTimeout(t);
        r();
      });
    });
  }
}

let started = 0;
try {
  let t0 = performance.now();
  await inBatches(names, BATCH, (n) => vs(['build', n]));
  console.log(`built ${GUESTS} guests in ${fmt(performance.now() - t0)}`);
  t0 = performance.now();
  await inBatches(names, BATCH, async (n) => {
    await vs(['start', n]);
    started++;
  });
  console.log(`started ${started} guests in ${fmt(performance.now() - t0)} (batches of ${BATCH})`);

  // lxc-ls is a fair baseline only while LXC runs as many containers as we run guests
  const lxclsPath = which('lxc-ls');
  const lxcRunning = lxclsPath ? spawnSync(lxclsPath, ['--running', '-1']).stdout.toString().split('\n').filter(Boolean).length : 0;
  const lxcls = lxclsPath && lxcRunning >= GUESTS ? lxclsPath : undefined;
  const tasks = {
    stat: () => vs(['stat']),
    ps: () => vs(['ps', '-e']),
    psE: () => timeCommand('ps', ['-e']),
    node: () => timeCommand(process.execPath, ['-e', '0']),
  };
  if (lxcls) tasks.lxcls = () => timeCommand(lxcls, ['-f']);
  const r = await compare(tasks, RUNS);
  const rows = [
    {
      what: `vserver stat, ${GUESTS} guests`,
      ours: r.stat.median,
      baseName: 'ps -e',
      base: r.psE.median,
      budget: 300,
      budgetText: '<= 300 ms',
    },
    { what: `vserver ps -e, ${GUESTS} guests`, ours: r.ps.median, baseName: 'ps -e', base: r.psE.median },
  ];
  if (lxcls)
    rows.push({ what: 'vserver stat', ours: r.stat.median, baseName: `lxc-ls -f, ${lxcRunning} containers`, base: r.lxcls.median });
  report(`watching ${GUESTS} running busybox guests, medians of ${RUNS} runs; node -e 0 = ${fmt(r.node.median)}`, rows);
  if (!lxclsPath) console.log('lxc-ls: not installed, not compared');
  else if (!lxcls) console.log(`lxc-ls: ${lxcRunning} LXC containers running, not ${GUESTS}: not compared`);

  const ours = await liveCpu(`${process.execPath} ${CLI} top`, / top$/, TOP_SECONDS);
  const procps = which('top') ? await liveCpu('top -d 1', /^top -d 1/, TOP_SECONDS) : undefined;
  console.log(`\nvserver top, live in a terminal, ${GUESTS} guests, refreshed every second, over ${TOP_SECONDS} s:`);
  console.log(
    `  vserver top  ${(ours * 100).toFixed(2)} % of one core = ${(ours * 1000).toFixed(1)} ms CPU per refresh; budget <= 5 %: ${ours <= 0.05 ? 'yes' : 'NO'}`,
  );
  if (procps !== undefined) {
    console.log(`  procps top   ${(procps * 100).toFixed(2)} % of one core (all host processes); ratio ${(ours / procps).toFixed(2)}x`);
  }
} finally {
  await inBatches(names, BATCH, (n) => vs(['delete', '--force', n], { allowFail: true }));
  // what a failed run may have left: runtime state, cgroups, the lxcfs this root started
  for (const runtime of ['runc', 'crun']) {
    const state = join(root, 'run/vserver', runtime);
    if (existsSync(state)) for (const id of readdirSync(state)) spawnSync(runtime, ['--root', state, 'delete', '--force', id]);
  }
  await stopLxcfs(root);
  const prefix = cgroupPrefix(root);
  for (const h of readdirSync('/sys/fs/cgroup').map((d) => join('/sys/fs/cgroup', d))) {
    let entries = [];
    try {
      entries = readdirSync(h);
    } catch {
      continue;
    }
    for (const e of entries.filter((x) => x.startsWith(prefix))) {
      try {
        rmdirSync(join(h, e));
      } catch {
        console.error(`bench/limits: cgroup ${join(h, e)} is still in use`);
      }
    }
  }
  remove();
}
