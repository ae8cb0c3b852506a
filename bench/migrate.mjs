// Benchmark of vserver migrate (not a test): a busybox guest carrying 1 GB in 20,000 files that keeps
// writing while it moves, between two installations on this machine, each in a network namespace of
// the benchmark's own joined by a veth pair, sshd on the target side.
//   pre-copy time, downtime (freeze here to running there; budget < 1 s), total time
//   vs  tar | ssh | tar of the same tree over the same link (a cold copy of a stopped tree)
// Run as root after `npm run build`. BENCH_MB (default 1024) and BENCH_FILES (default 20000) size the tree;
// BENCH_VIA=api migrates to a remote instead: the target's vserverd on its TLS listener, no ssh;
// VSERVER_TRACE=1 adds each step of the switch with its duration (ours and the target's).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, fmt, report, stopLxcfs, tempRoot, timeCommand } from './lib.mjs';

const MB = Number(process.env.BENCH_MB ?? 1024);
const VIA_API = process.env.BENCH_VIA === 'api';
const API_PORT = 8443;
const FILES = Number(process.env.BENCH_FILES ?? 20000);
if (process.getuid() !== 0) {
  console.error('bench/migrate: needs root');
  process.exit(2);
}
for (const tool of ['rsync', 'ssh', 'ssh-keygen', '/usr/sbin/sshd']) {
  if (spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status !== 0) {
    console.error(`bench/migrate: ${tool} is missing (bash scripts/install-deps.sh --test)`);
    process.exit(2);
  }
}

const SRC_NS = `vsb-migs-${process.pid}`;
const DST_NS = `vsb-migd-${process.pid}`;
const SRC_ADDR = '10.251.9.1';
const DST_ADDR = '10.251.9.2';
const PORT = 2222;
const src = tempRoot('migsrc');
const dst = tempRoot('migdst');
const keys = mkdtempSync('/tmp/vsbench-ssh-');
let sshd;
let madeRunSshd = false;

const ip = (...args) => execFileSync('ip', args);
const inNs = (ns, file, args, opts = {}) => ['nsenter', [`--net=/run/netns/${ns}`, '--', file, ...args], opts];
const srcEnv = { ...process.env, VSERVER_ROOT: src.root };
const dstEnv = { ...process.env, VSERVER_ROOT: dst.root };
const SSH_MIGRATE_OPTIONS = () => [
  '--ssh-option',
  `IdentityFile=${join(keys, 'client')}`,
  '--ssh-option',
  'IdentitiesOnly=yes',
  '--ssh-option',
  `UserKnownHostsFile=${join(keys, 'known_hosts')}`,
  '--ssh-option',
  'StrictHostKeyChecking=yes',
  // no DNS in the namespaces: Kerberos's name lookups would only time out
  '--ssh-option',
  'GSSAPIAuthentication=no',
  '--remote-vserver',
  join(keys, 'vserver-target'),
];
const vs = (env, ...args) => execFileSync(process.execPath, [CLI, ...args], { env, maxBuffer: 1 << 26 }).toString();
const sshOpts = [
  '-i',
  join(keys, 'client'),
  '-o',
  'IdentitiesOnly=yes',
  '-o',
  `UserKnownHostsFile=${join(keys, 'known_hosts')}`,
  '-o',
  'StrictHostKeyChecking=yes',
  '-o',
  'BatchMode=yes',
  '-o',
  'GSSAPIAuthentication=no',
  '-p',
  String(PORT),
];

async function setup() {
  ip('netns', 'add', SRC_NS);
  ip('netns', 'add', DST_NS);
  ip('-n', SRC_NS, 'link', 'set', 'lo', 'up');
  ip('-n', DST_NS, 'link', 'set', 'lo', 'up');
  ip('-n', SRC_NS, 'link', 'add', 'mig0', 'type', 'veth', 'peer', 'name', 'mig1', 'netns', DST_NS);
  ip('-n', SRC_NS, 'address', 'add', `${SRC_ADDR}/30`, 'dev', 'mig0');
  ip('-n', DST_NS, 'address', 'add', `${DST_ADDR}/30`, 'dev', 'mig1');
  ip('-n', SRC_NS, 'link', 'set', 'mig0', 'up');
  ip('-n', DST_NS, 'link', 'set', 'mig1', 'up');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keys, 'host_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keys, 'client')]);
  writeFileSync(join(keys, 'authorized_keys'), readFileSync(join(keys, 'client.pub')), { mode: 0o600 });
  writeFileSync(join(keys, 'known_hosts'), `[${DST_ADDR}]:${PORT} ${readFileSync(join(keys, 'host_key.pub'), 'utf8')}`);
  writeFileSync(
    join(keys, 'sshd_config'),
    [
      `Port ${PORT}`,
      `ListenAddress ${DST_ADDR}`,
      `HostKey ${join(keys, 'host_key')}`,
      `AuthorizedKeysFile ${join(keys, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      `PidFile ${join(keys, 'sshd.pid')}`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(keys, 'vserver-target'),
    [
      '#!/bin/sh',
      `export VSERVER_ROOT='${dst.root}' VSERVER_ID_REGISTRY=var/lib/vserver/ranges`,
      `exec '${process.execPath}' '${CLI}' "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  if (!existsSync('/run/sshd')) {
    mkdirSync('/run/sshd', { mode: 0o755 });
    madeRunSshd = true;
  }
  const [f, a] = inNs(DST_NS, '/usr/sbin/sshd', ['-D', '-e', '-f', join(keys, 'sshd_config')]);
  sshd = spawn(f, a, { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    const [cf, ca] = inNs(SRC_NS, 'ssh', [...sshOpts, `root@${DST_ADDR}`, 'true']);
    if (spawnSync(cf, ca).status === 0) break;
    if (i > 100) throw new Error('sshd in the target namespace did not answer');
    await new Promise((r) => setTimeout(r, 100));
  }
  if (VIA_API) await startDaemon();
}

/** The target's vserverd with its TLS listener on its address, and the source's remote 'dst' to it (token, pinned certificate). */
async function startDaemon() {
  mkdirSync(join(dst.root, 'etc/vserver'), { recursive: true });
  writeFileSync(join(dst.root, 'etc/vserver/vserver.toml'), `[api]\nlisten = "${DST_ADDR}:${API_PORT}"\n`, { flag: 'a' });
  const [f, a] = inNs(DST_NS, process.execPath, [join(CLI, '../vserverd.cjs'), '--foreground']);
  const daemon = spawn(f, a, { env: dstEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const fingerprint = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vserverd did not listen: ${log}`)), 30_000);
    daemon.stderr.on('data', (b) => {
      log += b.toString();
      const m = /certificate sha256 (\S+)\)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  const token = vs(dstEnv, 'token', 'create', '--name', 'bench').trim();
  vs(srcEnv, 'remote', 'add', 'dst', `https://${DST_ADDR}:${API_PORT}`, '--token', token, '--cert-fingerprint', fingerprint);
}

/** FILES files of MB megabytes in all under rootfs/bulk, owned by the guest, distinct contents. */
function fill(rootfs, base) {
  const size = Math.floor((MB * 1024 * 1024) / FILES);
  const pool = randomBytes(4 << 20);
  const bulk = join(rootfs, 'bulk');
  mkdirSync(bulk);
  chownSync(bulk, base, base);
  for (let i = 0; i < FILES; i++) {
    const dir = join(bulk, String(Math.floor(i / 500)));
    if (i % 500 === 0) {
      mkdirSync(dir);
      chownSync(dir, base, base);
    }
    const off = (i * 7919) % (pool.length - size);
    const file = join(dir, `f${i}`);
    writeFileSync(file, pool.subarray(off, off + size));
    chownSync(file, base, base);
  }
}

async function main() {
  await setup();
  // it keeps writing while it moves: a counter, and 200 small files rewritten in turn
  const writer =
    'i=$(tail -n 1 /counter 2>/dev/null); i=${i:-0}; mkdir -p /churn; while :; do i=$((i+1)); echo $i >> /counter; echo $i > /churn/f$((i % 200)); sleep 0.01; done';
  vs(srcEnv, 'build', 'big', '--init', 'cmd', '--', '/bin/sh', '-c', writer);
  // status exits 3 for a stopped guest
  const base = JSON.parse(spawnSync(process.execPath, [CLI, 'status', 'big', '--json'], { env: srcEnv }).stdout.toString()).idmap.base;
  console.log(`filling the guest with ${MB} MB in ${FILES} files ...`);
  fill(join(src.root, 'var/lib/vserver/guests/big/rootfs'), base);
  execFileSync('sync');

  // baseline: the same tree, stopped, through tar | ssh | tar over the same link
  const cold = join(dst.root, 'tar-copy');
  mkdirSync(cold);
  const script = 'a="$1"; b="$2"; shift 2; tar -C "$a" --numeric-owner -cf - . | ssh "$@" -- tar -C "$b" --numeric-owner -xpf -';
  const [tf, ta] = inNs(SRC_NS, 'sh', [
    '-c',
    script,
    'sh',
    join(src.root, 'var/lib/vserver/guests/big/rootfs'),
    cold,
    ...sshOpts,
    `root@${DST_ADDR}`,
  ]);
  const tarMs = await timeCommand(tf, ta);
  rmSync(cold, { recursive: true, force: true });
  execFileSync('sync');

  spawnSync(process.execPath, [CLI, 'start', 'big'], { env: srcEnv, stdio: 'inherit' });
  await new Promise((r) => setTimeout(r, 1000));
  const t0 = performance.now();
  const [mf, ma] = inNs(SRC_NS, process.execPath, [
    CLI,
    'migrate',
    'big',
    ...(VIA_API ? ['dst'] : [`ssh://root@${DST_ADDR}:${PORT}`, ...SSH_MIGRATE_OPTIONS()]),
    '--json',
  ]);
  // its progress (each round, the final copy, the start there) on stderr, beside the JSON result
  const r = spawnSync(mf, ma, { env: srcEnv, maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] });
  const wall = performance.now() - t0;
  if (r.status !== 0) throw new Error(`migrate failed (exit ${r.status})`);
  const m = JSON.parse(r.stdout.toString());
  const state = JSON.parse(vs(dstEnv, 'status', 'big', '--json')).state;
  console.log(
    `\nmigrated ${MB} MB in ${FILES} files; rounds: ${m.rounds.map((x) => `${x.changed} entries in ${x.seconds} s`).join(', ')}; on the target: ${state}`,
  );
  report(
    `vserver migrate${VIA_API ? ' to a remote (TLS API)' : ''} (a running guest writing all along) vs tar | ssh | tar (the same tree, stopped)`,
    [
      { what: 'total', ours: wall, baseName: 'tar|ssh|tar', base: tarMs },
      { what: 'pre-copy', ours: m.precopySeconds * 1000, baseName: 'tar|ssh|tar', base: tarMs },
      { what: 'downtime', ours: m.downtimeSeconds * 1000, baseName: 'tar|ssh|tar', base: tarMs, budget: 1000, budgetText: '< 1 s' },
    ],
  );
  console.log(
    `(migrate's own figures: pre-copy ${fmt(m.precopySeconds * 1000)}, downtime ${fmt(m.downtimeSeconds * 1000)}, total ${fmt(m.totalSeconds * 1000)})`,
  );
}

async function cleanup() {
  sshd?.kill('SIGKILL');
  const pids =
    spawnSync('ip', ['netns', 'pids', DST_NS])
      .stdout?.toString()
      .split('\n')
      .filter((l) => /^\d+$/.test(l)) ?? [];
  for (const p of pids) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const env of [srcEnv, dstEnv]) {
    for (const g of ['big', 'occupant']) spawnSync(process.execPath, [CLI, 'delete', '--force', g], { env, stdio: 'ignore' });
    spawnSync(process.execPath, [CLI, 'gc'], { env, stdio: 'ignore' });
  }
  await stopLxcfs(src.root);
  await stopLxcfs(dst.root);
  src.remove();
  dst.remove();
  rmSync(keys, { recursive: true, force: true });
  spawnSync('ip', ['netns', 'del', SRC_NS]);
  spawnSync('ip', ['netns', 'del', DST_NS]);
  if (madeRunSshd)
    try {
      rmdirSync('/run/sshd');
    } catch {
      /* in use */
    }
}

try {
  await main();
} catch (e) {
  console.error(`bench/migrate: ${e instanceof Error ? e.message : e}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
