// Benchmark of many guests at once (not a test): N bridged busybox guests started and kill-stopped
// with one bulk command, beside one `vserver start` per guest and the raw runtime starting the same
// bundles N at a time; LXC where installed. All inside a network namespace of its own.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { CLI, fmt, rawBundleFrom, stopLxcfs, tempRoot, timeCommand } from './lib.mjs';

const N = Number(process.env.BENCH_GUESTS ?? 100);
const which = (p) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', p]).stdout.toString().trim();
const runc = which('runc');
if (process.getuid() !== 0 || !runc) {
  console.error('bench/bulk: needs root and runc');
  process.exit(2);
}
const HOST = `vsbench-bulk-${process.pid}`;
const { root, remove } = tempRoot('bulk');
const env = { ...process.env, VSERVER_ROOT: root };
const inHost = (file, args) => ['nsenter', [`--net=/run/netns/${HOST}`, '--', file, ...args]];
const vs = (...args) => { const [f, a] = inHost(process.execPath, [CLI, ...args]); return timeCommand(f, a, { env }); };
const vsSync = (...args) => { const [f, a] = inHost(process.execPath, [CLI, ...args]); return execFileSync(f, a, { env }).toString(); };
const memAvailable = () => Number(/^MemAvailable:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))[1]) * 1024;
const names = Array.from({ length: N }, (_, i) => `b${i + 1}`);
const rawIds = [];
const rawState = join(root, 'raw-state');

try {
  execFileSync('ip', ['netns', 'add', HOST]);
  execFileSync('ip', ['-n', HOST, 'link', 'set', 'lo', 'up']);
  mkdirSync(join(root, 'etc/vserver'), { recursive: true });
  writeFileSync(join(root, 'etc/vserver/vserver.toml'), '[network]\npool = "10.50.0.0/16"\n');
  for (const g of names) {
    vsSync('build', g);
    vsSync('config', g, 'interfaces', '[{mode="bridge"}]');
  }
  console.log(`${N} bridged busybox guests on ${availableParallelism()} cores`);

  // one CLI process per guest, as a boot script would do without bulk verbs (the first 20)
  const some = names.slice(0, Math.min(20, N));
  let seq = 0;
  for (const g of some) seq += await vs('start', g);
  let seqStop = 0;
  for (const g of some) seqStop += await vs('stop', g, '--timeout', '0');

  const mem0 = memAvailable();
  const bulkStart = await vs('start', '--all');
  const mem1 = memAvailable();
  const procs = Number(execFileSync('sh', ['-c', 'ps -e --no-headers | wc -l']).toString());
  const listMs = await vs('list');
  const statMs = await vs('stat');
  // the raw runtime: the bundles vserver wrote, without network wiring, started the same number at a time
  const bundles = names.map((g) => rawBundleFrom(root, g, join(root, 'raw', g), (spec) => {
    spec.linux.cgroupsPath = `/vsbench-raw-${process.pid}-${g}`;
    spec.linux.namespaces = spec.linux.namespaces.map((n) => (n.type === 'network' ? { type: 'network' } : n));
    delete spec.hooks;
  }));
  const bulkStop = await vs('stop', '--all', '--timeout', '0');
  const jobs = Math.min(16, Math.max(2, availableParallelism() * 2));
  const t0 = performance.now();
  for (let i = 0; i < N; i += jobs) {
    await Promise.all(bundles.slice(i, i + jobs).map((b, k) => {
      const id = `raw${i + k}`;
      rawIds.push(id);
      return timeCommand(runc, ['--root', rawState, 'run', '-d', '--bundle', b, id], { stdio: ['ignore', 'ignore', 'ignore'] });
    }));
  }
  const rawStart = performance.now() - t0;

  const lxc = which('lxc-start') ? 'installed, not compared: this benchmark makes no LXC containers yet' : 'not installed (apt-get install lxc to compare)';
  console.log(`\nbulk start and stop of ${N} bridged guests`);
  console.log(`  one 'vserver start' per guest       ${fmt(seq / some.length)} per guest (${some.length} guests)`);
  console.log(`  one 'vserver stop --timeout 0' each ${fmt(seqStop / some.length)} per guest`);
  console.log(`  vserver start --all                 ${fmt(bulkStart)} (${fmt(bulkStart / N)} per guest; ${(seq / some.length * N / bulkStart).toFixed(1)}x faster than one by one)`);
  console.log(`  runc run -d, ${jobs} at a time        ${fmt(rawStart)} (no network)   ratio ${(bulkStart / rawStart).toFixed(2)}x   budget 1.25 s for 100`);
  console.log(`  vserver stop --all --timeout 0      ${fmt(bulkStop)}   budget 1 s for 100`);
  console.log(`  memory per running guest            ${((mem0 - mem1) / N / 2 ** 20).toFixed(2)} MB (MemAvailable before and after)   budget 0.4 MB`);
  console.log(`  processes on the host while running ${procs}`);
  console.log(`  vserver list / stat with ${N} running  ${fmt(listMs)} / ${fmt(statMs)}`);
  console.log(`  LXC: ${lxc}`);
} finally {
  for (const id of rawIds) spawnSync(runc, ['--root', rawState, 'delete', '--force', id]);
  const [f, a] = inHost(process.execPath, [CLI, 'stop', '--all', '--timeout', '0']);
  spawnSync(f, a, { env });
  for (const g of names) { const [f2, a2] = inHost(process.execPath, [CLI, 'delete', '--force', g]); spawnSync(f2, a2, { env }); }
  await stopLxcfs(root);
  spawnSync('ip', ['netns', 'del', HOST]);
  remove();
}
