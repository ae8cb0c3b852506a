// Benchmark of the guest lifecycle (not a test): vserver beside the raw runtime doing the same work.
//   vserver --version        vs  node -e 0
//   vserver list (no guests) vs  node -e 0: a real command's start-up (config, runtime choice)
//   vserver exec NAME true   vs  RUNTIME exec
//   vserver start + stop     vs  RUNTIME run -d, kill, wait, delete (same config.json)
// where RUNTIME is the one vserver chose on this host (runc or crun).
// and lxc-start/lxc-attach where LXC is installed. Run as root after `npm run build`.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, chosenRuntime, compare, rawContainer, removeRawContainer, report, stopLxcfs, tempRoot, timeCommand } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const LIFE_RUNS = Number(process.env.BENCH_LIFE_RUNS ?? 5);
const which = (p) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', p]).stdout.toString().trim();
if (process.getuid() !== 0 || (!which('runc') && !which('crun'))) {
  console.error('bench/lifecycle: needs root and runc or crun');
  process.exit(2);
}

const { root, remove } = tempRoot('life');
const empty = tempRoot('life-empty');
const env = { ...process.env, VSERVER_ROOT: root };
const vs = (...args) => timeCommand(process.execPath, [CLI, ...args], { env });
const vsSync = (...args) => execFileSync(process.execPath, [CLI, ...args], { env }).toString();
try {
  vsSync('build', 'bench1');
  vsSync('start', 'bench1');
  // the baseline is the runtime the guests run under
  const { name: rtName, path: runtime, state } = chosenRuntime(root);
  // the raw runtime gets the very config.json vserver made, in a bundle of its own
  const raw = rawContainer(root, 'bench1', runtime, 'raw');

  const quick = await compare(
    {
      node: () => timeCommand(process.execPath, ['-e', '0']),
      version: () => timeCommand(CLI, ['--version']),
      list: () => timeCommand(CLI, ['list'], { env: { ...process.env, VSERVER_ROOT: empty.root } }),
      vsExec: () => vs('exec', 'bench1', 'true'),
      runtimeExec: () => timeCommand(runtime, ['--root', state, 'exec', 'bench1', 'true']),
    },
    RUNS,
  );
  vsSync('stop', 'bench1');

  const life = await compare(
    {
      vsStartStop: async () => (await vs('start', 'bench1')) + (await vs('stop', 'bench1')),
      raw: raw.startStop,
    },
    LIFE_RUNS,
    1,
  );
  raw.close();

  const node = quick.node.median;
  const rows = [
    {
      what: 'vserver --version',
      ours: quick.version.median,
      baseName: 'node -e 0',
      base: node,
      budget: 1.3 * node,
      budgetText: '<= 1.3 x node -e 0',
    },
    { what: 'vserver list, no guests', ours: quick.list.median, baseName: 'node -e 0', base: node },
    {
      what: 'vserver exec NAME true',
      ours: quick.vsExec.median,
      baseName: `${rtName} exec`,
      base: quick.runtimeExec.median,
      budget: node + quick.runtimeExec.median + 25,
      budgetText: `<= node + ${rtName} exec + 25 ms`,
    },
    {
      what: 'vserver start + stop',
      ours: life.vsStartStop.median,
      baseName: `${rtName} run -d/kill/delete`,
      base: life.raw.median,
      budget: 2 * node + life.raw.median + 60,
      budgetText: '<= 2 x node + raw + 60 ms',
    },
  ];
  report(`guest lifecycle, busybox guest, medians of ${RUNS} (start+stop: ${LIFE_RUNS}) runs; node -e 0 = ${node.toFixed(1)} ms`, rows);
  const overhead = quick.vsExec.median - node - quick.runtimeExec.median;
  console.log(
    `\nexec overhead above node start-up and ${rtName} exec: ${overhead.toFixed(1)} ms; ` +
      `start+stop overhead above 2 x node and raw: ${(life.vsStartStop.median - 2 * node - life.raw.median).toFixed(1)} ms`,
  );
  for (const tool of ['lxc-start', 'lxc-attach', 'systemd-nspawn']) {
    console.log(
      `${tool}: ${which(tool) ? 'installed, but no container of ours is set up for it; not compared' : 'not installed, not compared'}`,
    );
  }
} catch (e) {
  try {
    console.error(readFileSync(join(root, 'raw.log'), 'utf8').split('\n').slice(-5).join('\n'));
  } catch {
    /* no log */
  }
  throw e;
} finally {
  spawnSync(process.execPath, [CLI, 'delete', '--force', 'bench1'], { env });
  removeRawContainer(root);
  await stopLxcfs(root);
  remove();
  empty.remove();
}
