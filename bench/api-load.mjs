// Benchmark of the API (not a test): GET /1.0/guests with N guests under 50 concurrent clients
// (autocannon, loopback TLS with a token, and the Unix socket), bounded in time; p99 against the
// 50 ms budget and errors; the daemon's resident memory at rest with N guests. Beside it, one
// `vserver list` process and `runc list`, which read the same state.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { CLI, fmt, stopLxcfs, tempRoot, timeCommand } from './lib.mjs';

const N = Number(process.env.BENCH_GUESTS ?? 100);
const RUNNING = Number(process.env.BENCH_RUNNING ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const DAEMON = new URL('../dist/vserverd.cjs', import.meta.url).pathname;
if (process.getuid() !== 0) {
  console.error('bench/api-load: needs root');
  process.exit(2);
}
const { root, remove } = tempRoot('api');
const env = { ...process.env, VSERVER_ROOT: root };
const vs = (...args) => execFileSync(process.execPath, [CLI, ...args], { env }).toString();
const rssOf = (pid) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
const names = Array.from({ length: N }, (_, i) => `a${i + 1}`);
let daemon;

const load = (opts) =>
  new Promise((resolve, reject) => {
    const inst = autocannon({ connections: 50, duration: SECONDS, timeout: 5, ...opts }, (e, r) => (e ? reject(e) : resolve(r)));
    autocannon.track(inst, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false });
  });

try {
  const port = await freePort();
  mkdirSync(join(root, 'etc/vserver'), { recursive: true });
  writeFileSync(join(root, 'etc/vserver/vserver.toml'), `[api]\nlisten = "127.0.0.1:${port}"\n`);
  for (const g of names) vs('build', g);
  for (const g of names.slice(0, RUNNING)) vs('start', g);
  const token = vs('token', 'create', '--name', 'bench').trim();
  daemon = spawn(process.execPath, [DAEMON, '--foreground'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  daemon.stderr.on('data', (b) => {
    log += b;
  });
  for (let i = 0; i < 200 && !/listening on https/.test(log); i++) await new Promise((r) => setTimeout(r, 100));
  if (!/listening on https/.test(log)) throw new Error(`vserverd did not start: ${log}`);
  const sock = join(root, 'run/vserver/vserverd.sock');

  // at rest: after one listing (code loaded), then a pause
  execFileSync('curl', ['-sf', '--unix-socket', sock, 'http://x/1.0/guests', '-o', '/dev/null']);
  await new Promise((r) => setTimeout(r, 2000));
  const rssRest = rssOf(daemon.pid);

  const tls = await load({ url: `https://127.0.0.1:${port}/1.0/guests`, headers: { authorization: `Bearer ${token}` } });
  const unix = await load({ url: 'http://localhost/1.0/guests', socketPath: sock });
  const rssLoaded = rssOf(daemon.pid);
  const cliList = await timeCommand(process.execPath, [CLI, 'list'], { env });
  const runcList = await timeCommand('runc', ['--root', join(root, 'run/vserver/runc'), 'list'], { allowFail: true });

  console.log(
    `\nGET /1.0/guests, ${N} guests (${RUNNING} running), 50 clients for ${SECONDS} s each; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const row = (what, r) =>
    console.log(
      `  ${what.padEnd(22)} p50 ${fmt(r.latency.p50)}  p99 ${fmt(r.latency.p99)}  max ${fmt(r.latency.max)}  ` +
        `${Math.round(r.requests.average)} req/s  errors ${r.errors + r.timeouts}  non-2xx ${r.non2xx}  ` +
        `budget p99 < 50 ms: ${r.latency.p99 < 50 && r.errors + r.timeouts + r.non2xx === 0 ? 'yes' : 'NO'}`,
    );
  row('TLS 1.3 + token', tls);
  row('Unix socket', unix);
  console.log(
    `  one request vs one process: p50 over TLS ${fmt(tls.latency.p50)} vs vserver list ${fmt(cliList)} ` +
      `(${(cliList / Math.max(tls.latency.p50, 0.01)).toFixed(1)}x), runc list ${fmt(runcList)}`,
  );
  console.log(
    `  daemon resident memory: at rest ${(rssRest / 2 ** 20).toFixed(1)} MiB, after the load ${(rssLoaded / 2 ** 20).toFixed(1)} MiB`,
  );
} finally {
  daemon?.kill('SIGTERM');
  if (daemon && daemon.exitCode === null) await new Promise((r) => daemon.once('exit', r));
  for (const g of names) {
    try {
      vs('delete', '--force', g);
    } catch {
      /* not built */
    }
  }
  await stopLxcfs(root);
  remove();
}
