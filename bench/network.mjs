// Benchmark of guest networking (not a test), all inside network namespaces made here:
//   the time each interface adds to `vserver start`, against a guest without interfaces;
//   TCP throughput (iperf3) between the host and a guest for bridge, macvlan and ipvlan, against
//   the host's loopback, as ratios (host mode is that loopback itself, so it is not measured).
// Run as root after `npm run build`. BENCH_RUNS (start runs), BENCH_SETTLE_MS (pause after each stop),
// BENCH_NET_SECONDS and BENCH_NET_RUNS (iperf3).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLI, compare, report, stats, tempRoot, timeCommand } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const SECONDS = Number(process.env.BENCH_NET_SECONDS ?? 3);
const NET_RUNS = Number(process.env.BENCH_NET_RUNS ?? 3);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 300);
const which = (p) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', p]).stdout.toString().trim();
if (process.getuid() !== 0 || !which('runc') || !which('iperf3')) {
  console.error('bench/network: needs root, runc and iperf3');
  process.exit(2);
}

const HOST = `vsbench-net-${process.pid}`;
const LAN = `vsbench-lan-${process.pid}`;
const { root, remove } = tempRoot('net');
const env = { ...process.env, VSERVER_ROOT: root };
const inHost = (file, args) => ['nsenter', [`--net=/run/netns/${HOST}`, '--', file, ...args]];
const vsArgs = (...args) => inHost(process.execPath, [CLI, ...args]);
const vs = (...args) => execFileSync(...vsArgs(...args), { env }).toString();
const vsTime = (...args) => timeCommand(...vsArgs(...args), { env });
const ip = (ns, ...args) => execFileSync('ip', ['-n', ns, ...args]);
const servers = [];

/** Copies a dynamically linked program and the libraries it needs into a guest's tree. */
function installProgram(rootfs, program) {
  const files = [
    program,
    ...execFileSync('ldd', [program])
      .toString()
      .split('\n')
      .map((l) => /(\/\S+) \(0x/.exec(l)?.[1])
      .filter(Boolean),
  ];
  for (const f of files) {
    mkdirSync(join(rootfs, dirname(f)), { recursive: true });
    copyFileSync(f, join(rootfs, f));
  }
}

function kernelHasIpvlan() {
  const r = spawnSync('ip', ['-n', LAN, 'link', 'add', 'link', 'lanx', 'name', 'ivprobe', 'type', 'ipvlan']);
  spawnSync('ip', ['-n', LAN, 'link', 'del', 'ivprobe']);
  return r.status === 0;
}

/** Mean receive rate in bits/s of an iperf3 client run from the host namespace. */
function iperf(addr, port) {
  const [file, args] = inHost('iperf3', ['-c', addr, '-p', String(port), '-t', String(SECONDS), '-J']);
  const out = JSON.parse(execFileSync(file, args, { timeout: (SECONDS + 20) * 1000 }).toString());
  return out.end.sum_received.bits_per_second;
}

const gbit = (bps) => `${(bps / 1e9).toFixed(2)} Gbit/s`;

try {
  // run/ on tmpfs, as /run is on a standard host (this keeps disk flushes of locks and state out of the figures)
  mkdirSync(join(root, 'run'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=755', 'vsbench-run', join(root, 'run')]);
  execFileSync('ip', ['netns', 'add', HOST]);
  execFileSync('ip', ['netns', 'add', LAN]);
  ip(HOST, 'link', 'set', 'dev', 'lo', 'up');
  // NICs of the bench host: lan0 (macvlan parent), lan1 (ipvlan parent), nic0 (given with phys); their peers in LAN
  for (const [a, b] of [
    ['lan0', 'lan0p'],
    ['lan1', 'lan1p'],
    ['nic0', 'nic0p'],
  ]) {
    ip(HOST, 'link', 'add', 'name', a, 'type', 'veth', 'peer', 'name', b, 'netns', LAN);
    ip(HOST, 'link', 'set', 'dev', a, 'up');
    ip(LAN, 'link', 'set', 'dev', b, 'up');
  }
  ip(LAN, 'link', 'add', 'name', 'lanx', 'type', 'veth', 'peer', 'name', 'lany');
  const ipvlan = kernelHasIpvlan();

  // --- start time per interface ---
  const guests = {
    snone: [],
    sbr1: ['{mode="bridge"}'],
    sbr4: ['{mode="bridge"}', '{mode="bridge"}', '{mode="bridge"}', '{mode="bridge"}'],
    smv1: ['{mode="macvlan", parent="lan0", address="192.168.90.21/24"}'],
    sph1: ['{mode="phys", parent="nic0", address="192.168.91.21/24"}'],
    ...(ipvlan ? { siv1: ['{mode="ipvlan", parent="lan1", address="192.168.92.21/24"}'] } : {}),
  };
  for (const [g, ifs] of Object.entries(guests)) {
    vs('build', g);
    if (ifs.length > 0) vs('config', g, 'interfaces', `[${ifs.join(', ')}]`);
  }
  const stops = Object.fromEntries(Object.keys(guests).map((g) => [g, []]));
  const tasks = Object.fromEntries(
    Object.keys(guests).map((g) => [
      g,
      async () => {
        const ms = await vsTime('start', g);
        stops[g].push(await vsTime('stop', g, '--timeout', '0'));
        // the kernel frees a network namespace in the background, and the next one made waits for that
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        return ms;
      },
    ]),
  );
  const starts = await compare(tasks, RUNS, 1, { shuffle: true });
  const none = starts.snone.median;
  const startRow = (g, what, n) => ({
    what,
    ours: starts[g].median,
    baseName: 'none',
    base: none,
    budget: none + 15 * n,
    budgetText: `<= none + ${15 * n} ms`,
  });
  const startRows = [
    startRow('sbr1', 'start, 1 bridge interface', 1),
    startRow('sbr4', 'start, 4 bridge interfaces', 4),
    startRow('smv1', 'start, 1 macvlan interface', 1),
    ...(ipvlan ? [startRow('siv1', 'start, 1 ipvlan interface', 1)] : []),
    startRow('sph1', 'start, 1 phys interface', 1),
  ];
  report(`vserver start with interfaces vs without (mode none), medians of ${RUNS} runs`, startRows);
  for (const r of startRows) {
    const n = Number(/(\d) \w+ interface/.exec(r.what)[1]);
    console.log(`  ${r.what}: ${((r.ours - none) / n).toFixed(1)} ms per interface (budget 15 ms)`);
  }
  if (!ipvlan) console.log('  ipvlan: not measured, this kernel has no ipvlan support');
  const stopMs = (g) => stats(stops[g].slice(1)).median;
  console.log(
    `  for information, vserver stop --timeout 0 (no budget): none ${stopMs('snone').toFixed(1)} ms, ` +
      Object.keys(guests)
        .filter((g) => g !== 'snone')
        .map((g) => `${g.slice(1)} ${stopMs(g).toFixed(1)} ms`)
        .join(', ') +
      ' (the kernel unregisters each device and namespace)',
  );

  // --- throughput host <-> guest ---
  ip(HOST, 'link', 'add', 'link', 'lan0', 'name', 'mvhost', 'type', 'macvlan', 'mode', 'bridge');
  ip(HOST, 'address', 'add', '192.168.90.1/24', 'dev', 'mvhost');
  ip(HOST, 'link', 'set', 'dev', 'mvhost', 'up');
  if (ipvlan) {
    ip(HOST, 'link', 'add', 'link', 'lan1', 'name', 'ivhost', 'type', 'ipvlan', 'mode', 'l2');
    ip(HOST, 'address', 'add', '192.168.92.1/24', 'dev', 'ivhost');
    ip(HOST, 'link', 'set', 'dev', 'ivhost', 'up');
  }
  const targets = {
    tbr: { cfg: '{mode="bridge"}', port: 5201 },
    tmv: { cfg: '{mode="macvlan", parent="lan0", address="192.168.90.10/24"}', addr: '192.168.90.10', port: 5202 },
    ...(ipvlan ? { tiv: { cfg: '{mode="ipvlan", parent="lan1", address="192.168.92.10/24"}', addr: '192.168.92.10', port: 5203 } } : {}),
  };
  for (const [g, t] of Object.entries(targets)) {
    vs('build', g);
    installProgram(join(root, 'var/lib/vserver/guests', g, 'rootfs'), which('iperf3'));
    vs('config', g, 'interfaces', `[${t.cfg}]`);
    const info = JSON.parse(vs('start', g, '--json'));
    t.addr ??= info.interfaces[0].addresses[0].split('/')[0];
    vs('exec', g, '--', 'iperf3', '-s', '-D', '-p', String(t.port));
  }
  // the baseline: an iperf3 server of the host, reached over the host's loopback
  const [bf, ba] = inHost('iperf3', ['-s', '-p', '5200']);
  servers.push(spawn(bf, ba, { stdio: 'ignore' }));
  await new Promise((r) => setTimeout(r, 300));
  const rates = Object.fromEntries(['loopback', ...Object.keys(targets)].map((k) => [k, []]));
  for (let i = 0; i < NET_RUNS; i++) {
    rates.loopback.push(iperf('127.0.0.1', 5200));
    for (const [g, t] of Object.entries(targets)) rates[g].push(iperf(t.addr, t.port));
  }
  const base = stats(rates.loopback).median;
  const row = (g, what, min) => ({
    what,
    ours: stats(rates[g]).median,
    baseName: 'loopback',
    base,
    budget: min * base,
    budgetText: `>= ${Math.round(min * 100)} % of loopback`,
  });
  report(
    `TCP throughput host <-> guest (iperf3, ${SECONDS} s, median of ${NET_RUNS}), against the host's loopback`,
    [
      row('tmv', 'macvlan (host via its own macvlan)', 0.9),
      ...(ipvlan ? [row('tiv', 'ipvlan (host via its own ipvlan)', 0.9)] : []),
      row('tbr', 'bridge (veth)', 0.8),
    ],
    { higher: true, format: gbit },
  );
  if (!ipvlan) console.log('  ipvlan: not measured, this kernel has no ipvlan support');
  // a host-mode guest is reached over the host's own loopback: that would be loopback against loopback
  console.log("  host mode: not measured, the guest shares the host's network stack, so its figure is the loopback baseline itself");
} finally {
  for (const s of servers) s.kill();
  for (const g of ['snone', 'sbr1', 'sbr4', 'smv1', 'sph1', 'siv1', 'tbr', 'tmv', 'tiv']) {
    spawnSync(...vsArgs('delete', '--force', g), { env });
  }
  spawnSync(...vsArgs('gc'), { env });
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m?.startsWith(root));
  for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
  spawnSync('ip', ['netns', 'del', HOST]);
  spawnSync('ip', ['netns', 'del', LAN]);
  remove();
}
