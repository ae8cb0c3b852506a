// Benchmark of bulk requests to vserverd (not a test): N bridged busybox guests (default 20) started
// with one PUT /1.0/guests/state and kill-stopped with another, against lxc-start and lxc-stop -k of
// as many LXC containers with a veth on a bridge, the same number at a time. The daemon and LXC run
// in a network namespace of the benchmark's own; everything is removed afterwards, also when it fails.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { CLI, fmt, pool, socketApi, startDaemon, stopLxcfs, tempRoot, timeCommand } from './lib.mjs';
import { ensureLxc, lxcOnBridge } from './lxc.mjs';

const N = Number(process.env.BENCH_GUESTS ?? 20);
const ROUNDS = Number(process.env.BENCH_RUNS ?? 3);
if (process.getuid() !== 0) {
  console.error('bench/api-bulk: needs root');
  process.exit(2);
}
const HOST = `vsbench-apibulk-${process.pid}`;
const NSENTER = ['nsenter', `--net=/run/netns/${HOST}`, '--'];
const { root, remove } = tempRoot('apibulk');
const env = { ...process.env, VSERVER_ROOT: root };
const sock = join(root, 'run/vserver/vserverd.sock');
const jobs = Math.min(16, Math.max(2, availableParallelism() * 2));
const names = Array.from({ length: N }, (_, i) => `k${i + 1}`);
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
let daemon;
let lxc;

/** One bulk request; its wall time, after checking that every guest got there. */
async function bulk(action) {
  const t0 = performance.now();
  const r = await socketApi(sock, 'PUT', '/1.0/guests/state', { action, names, jobs, ...(action === 'stop' ? { timeout: 0 } : {}) });
  const ms = performance.now() - t0;
  if (r.failed !== 0) throw new Error(`bulk ${action}: ${JSON.stringify(r.results.filter((x) => !x.ok))}`);
  return ms;
}

try {
  console.log(
    `load average at the start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  execFileSync('ip', ['netns', 'add', HOST]);
  execFileSync('ip', ['-n', HOST, 'link', 'set', 'lo', 'up']);
  mkdirSync(join(root, 'etc/vserver'), { recursive: true });
  writeFileSync(join(root, 'etc/vserver/vserver.toml'), '[network]\npool = "10.50.0.0/16"\n');
  await pool(names, jobs, async (g) => {
    await timeCommand(process.execPath, [CLI, 'build', g], { env });
    // one bridged interface with an automatic address, as a user would add it to the file
    appendFileSync(join(root, 'etc/vserver/guests', `${g}.toml`), '\n[[interfaces]]\nmode = "bridge"\n');
  });
  daemon = await startDaemon(NSENTER, env);

  const ours = { start: [], stop: [] };
  // a first round unmeasured: the bridge, the address pool and lxcfs are set up once
  for (let i = 0; i <= ROUNDS; i++) {
    const start = await bulk('start');
    const stop = await bulk('stop');
    if (i === 0) continue;
    ours.start.push(start);
    ours.stop.push(stop);
  }

  const theirs = { start: [], stop: [] };
  const have = ensureLxc();
  if (have.ok) {
    lxc = lxcOnBridge(HOST, join(root, 'lxc'), join(root, 'var/lib/vserver/guests', names[0], 'rootfs'), N);
    for (let i = 0; i <= ROUNDS; i++) {
      const l0 = performance.now();
      await pool(lxc.names, jobs, (n) => lxc.start(n));
      const start = performance.now() - l0;
      const l1 = performance.now();
      await pool(lxc.names, jobs, (n) => lxc.kill(n));
      const stop = performance.now() - l1;
      if (i === 0) continue;
      theirs.start.push(start);
      theirs.stop.push(stop);
    }
  }

  console.log(`\n${N} bridged busybox guests, ${jobs} at a time, medians of ${ROUNDS} rounds (after one unmeasured)`);
  const line = (what, a, b, lxcWhat) =>
    console.log(
      `  ${what.padEnd(38)} ${fmt(median(a))}` +
        (b.length ? `   ${lxcWhat} ${fmt(median(b))}: ${(median(a) / median(b)).toFixed(2)}x` : `   LXC: ${have.reason}`),
    );
  line('PUT /1.0/guests/state start (one)', ours.start, theirs.start, `lxc-start x${N}`);
  line('PUT /1.0/guests/state stop timeout 0', ours.stop, theirs.stop, `lxc-stop -k x${N}`);
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  // each step on its own, so that one that fails leaves the others to do their part
  const step = async (fn) => {
    try {
      await fn();
    } catch (e) {
      console.error(`bench/api-bulk: cleaning up: ${e.message}`);
    }
  };
  await step(() => lxc?.cleanup());
  await step(async () => {
    daemon?.kill('SIGTERM');
    if (daemon && daemon.exitCode === null) await new Promise((r) => daemon.once('exit', r));
  });
  await step(() => {
    spawnSync(NSENTER[0], [...NSENTER.slice(1), process.execPath, CLI, 'stop', '--all', '--timeout', '0'], { env, stdio: 'ignore' });
  });
  await step(() => stopLxcfs(root));
  spawnSync('ip', ['netns', 'del', HOST]);
  remove();
  if (existsSync(root)) console.error(`bench/api-bulk: could not remove ${root}`);
}
