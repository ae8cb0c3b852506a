// Benchmark of vserverd's API (not a test): the daemon on its Unix socket beside the raw runtime.
//   PUT /1.0/guests/NAME/state start + stop   vs  RUNTIME run -d, kill, wait, delete (same config.json)
//   POST /1.0/guests/NAME/exec true + socket  vs  RUNTIME exec NAME true
//   POST /1.0/guests/NAME/exec true, "wait"   vs  RUNTIME exec NAME true (one request, no socket)
// Budgets (issue 13): start+stop <= 1.2 x raw; exec true <= runtime exec + 5 ms. Run as root after `npm run build`.
import { execFileSync, spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  CLI,
  chosenRuntime,
  compare,
  rawContainer,
  removeRawContainer,
  report,
  socketApi,
  startDaemon,
  stopLxcfs,
  tempRoot,
  timeCommand,
} from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const LIFE_RUNS = Number(process.env.BENCH_LIFE_RUNS ?? 5);
if (process.getuid() !== 0) {
  console.error('bench/api: needs root');
  process.exit(2);
}

const { root, remove } = tempRoot('api');
const env = { ...process.env, VSERVER_ROOT: root };
const sock = join(root, 'run/vserver/vserverd.sock');
const vsSync = (...args) => execFileSync(process.execPath, [CLI, ...args], { env }).toString();

const api = (method, path, body) => socketApi(sock, method, path, body);

/** exec through the API: the request, the socket, the exit message. */
async function apiExec(argv) {
  const t0 = performance.now();
  const { socket } = await api('POST', '/1.0/guests/bench1/exec', { command: argv });
  const code = await new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws+unix://${sock}:${socket}`);
    ws.on('message', (d, binary) => {
      if (!binary) resolve(JSON.parse(d.toString()).code);
    });
    ws.on('error', reject);
  });
  if (code !== 0) throw new Error(`exec exited ${code}`);
  return performance.now() - t0;
}

/** exec through the API in one request: the answer carries the exit code. */
async function apiExecWait(argv) {
  const t0 = performance.now();
  const r = await api('POST', '/1.0/guests/bench1/exec', { command: argv, wait: true });
  if (r.code !== 0) throw new Error(`exec answered ${JSON.stringify(r)}`);
  return performance.now() - t0;
}

let daemon;
try {
  vsSync('build', 'bench1');
  daemon = await startDaemon([], env);
  await api('PUT', '/1.0/guests/bench1/state', { action: 'start' });
  const { name: rtName, path: runtime, state } = chosenRuntime(root);
  const raw = rawContainer(root, 'bench1', runtime, 'apiraw');

  const exec = await compare(
    {
      apiExec: () => apiExec(['true']),
      apiWait: () => apiExecWait(['true']),
      runtimeExec: () => timeCommand(runtime, ['--root', state, 'exec', 'bench1', 'true']),
    },
    RUNS,
    3,
    { shuffle: true },
  );
  await api('PUT', '/1.0/guests/bench1/state', { action: 'stop' });

  const apiStartStop = async () => {
    const t0 = performance.now();
    await api('PUT', '/1.0/guests/bench1/state', { action: 'start' });
    await api('PUT', '/1.0/guests/bench1/state', { action: 'stop' });
    return performance.now() - t0;
  };
  const life = await compare({ api: apiStartStop, raw: raw.startStop }, LIFE_RUNS, 1, {
    shuffle: true,
  });
  raw.close();

  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  // each exec form against the runtime's own exec, with the same budget
  const execRow = (what, ours) => ({
    what,
    ours,
    baseName: `${rtName} exec`,
    base: exec.runtimeExec.median,
    budget: exec.runtimeExec.median + 5,
    budgetText: `<= ${rtName} exec + 5 ms`,
  });
  report(`vserverd API on its Unix socket, busybox guest, medians of ${RUNS} (start+stop: ${LIFE_RUNS}) runs; load average ${load}`, [
    execRow('exec true (POST + WebSocket)', exec.apiExec.median),
    execRow('exec true (POST, "wait")', exec.apiWait.median),
    {
      what: 'start + stop (PUT state x2)',
      ours: life.api.median,
      baseName: `${rtName} run -d/kill/delete`,
      base: life.raw.median,
      budget: 1.2 * life.raw.median,
      budgetText: '<= 1.2 x raw',
    },
  ]);
  console.log(
    `\nexec overhead above ${rtName} exec: ${(exec.apiExec.median - exec.runtimeExec.median).toFixed(1)} ms with the socket, ` +
      `${(exec.apiWait.median - exec.runtimeExec.median).toFixed(1)} ms with "wait"; ` +
      `start+stop overhead above raw: ${(life.api.median - life.raw.median).toFixed(1)} ms`,
  );
} finally {
  daemon?.kill('SIGTERM');
  if (daemon && daemon.exitCode === null) await new Promise((r) => daemon.once('exit', r));
  spawnSync(process.execPath, [CLI, 'delete', '--force', 'bench1'], { env });
  removeRawContainer(root);
  await stopLxcfs(root);
  remove();
}
