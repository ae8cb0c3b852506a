// Benchmark of the dashboard (not a test): time to the first usable guests page (its first screen,
// and all its rows) beside the API answer it shows, the bundle's size against its budget, and the
// CPU the browser and vserverd use while the guests page shows N live guests for 60 s, beside the
// daemon with no page open.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { CLI, report, stopLxcfs, tempRoot } from './lib.mjs';

const N = Number(process.env.BENCH_GUESTS ?? 100);
const WATCH_S = Number(process.env.BENCH_WATCH_S ?? 60);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
// the page is timed once 100 guests' start-up and the daemon's first readings have settled
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 15);
const CHROMIUM = '/usr/bin/chromium';
const DAEMON = new URL('../dist/vserverd.cjs', import.meta.url).pathname;
const DIST = new URL('../dist/dashboard/', import.meta.url).pathname;
if (process.getuid() !== 0) {
  console.error('bench/dashboard: needs root');
  process.exit(2);
}
try {
  statSync(CHROMIUM);
} catch {
  console.error('bench/dashboard: needs chromium (apt-get install chromium)');
  process.exit(2);
}

const { root, remove } = tempRoot('dash');
const env = { ...process.env, VSERVER_ROOT: root };
const vs = (...args) => execFileSync(process.execPath, [CLI, ...args], { env, maxBuffer: 1 << 26 }).toString();
const names = Array.from({ length: N }, (_, i) => `d${i + 1}`);
const TICK = 100;
const comm = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}; // clock ticks per second (CLK_TCK on Linux)

/** CPU seconds used so far by a process and its live descendants (pid 'chromium': the browsers this process started). */
function cpuOfTree(pid) {
  const kids = new Map();
  const own = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(f[1]);
      own.set(Number(d), (Number(f[11]) + Number(f[12])) / TICK);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch {
      /* gone */
    }
  }
  let sum = 0;
  const walk = (p) => {
    sum += own.get(p) ?? 0;
    for (const k of kids.get(p) ?? []) walk(k);
  };
  if (pid !== 'chromium') walk(pid);
  else for (const k of kids.get(process.pid) ?? []) if (comm(k).startsWith('chrom')) walk(k);
  return sum;
}

let daemon;
let browser;
try {
  // the bundle
  const files = readdirSync(DIST).filter((f) => !f.endsWith('.gz'));
  const js = files.filter((f) => f.endsWith('.js'));
  const size = (fs) => fs.reduce((s, f) => s + statSync(join(DIST, f)).size, 0);
  const gz = (fs) => fs.reduce((s, f) => s + gzipSync(readFileSync(join(DIST, f)), { level: 9 }).length, 0);
  console.log(
    `bundle: JavaScript ${(size(js) / 1024).toFixed(1)} kB raw, ${(gz(js) / 1024).toFixed(1)} kB gzip (budget 200 kB gzip); all files ${(size(files) / 1024).toFixed(1)} kB raw, ${(gz(files) / 1024).toFixed(1)} kB gzip`,
  );

  for (const g of names) vs('build', g);
  vs('start', '--all');
  console.log(`${N} busybox guests running`);

  daemon = spawn(process.execPath, [DAEMON, '--foreground', '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const base = await new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`vserverd did not start: ${err}`)), 20_000);
    daemon.stderr.on('data', (b) => {
      err += b;
      const m = / and (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
  });

  await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
  console.log(
    `after ${SETTLE_S} s to settle: load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  // time to a usable page: from navigation to the rows that fill the window painted (a frame, then a
  // task: the page answers input), and to all N rows in the page; beside one API answer of the list
  const screenMs = [];
  const allMs = [];
  const apiMs = [];
  const ctxTimes = [];
  for (let i = 0; i < RUNS; i++) {
    const url = vs('dashboard').split('\n')[0];
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.addInitScript((n) => {
      const painted = (key) => requestAnimationFrame(() => setTimeout(() => (window[key] = performance.timeOrigin + performance.now())));
      const rowsSeen = new MutationObserver(() => {
        const rows = document.querySelectorAll('tbody tr[data-guest]');
        const filled = rows.length === n || (rows.length > 0 && rows[rows.length - 1].getBoundingClientRect().bottom >= innerHeight);
        if (filled && !window.__screen) painted((window.__screen = '__screenAt'));
        if (rows.length === n && !window.__all) painted((window.__all = '__allAt'));
      });
      document.addEventListener('DOMContentLoaded', () => rowsSeen.observe(document.body, { childList: true, subtree: true }));
    }, N);
    // both clocks count from the epoch: the page's marks are compared with this process's start
    const t0 = performance.timeOrigin + performance.now();
    await page.goto(url);
    await page.waitForFunction(() => window.__screenAt !== undefined && window.__allAt !== undefined, undefined, { timeout: 30_000 });
    const [screenAt, allAt] = await page.evaluate(() => [window.__screenAt, window.__allAt]);
    screenMs.push(screenAt - t0);
    allMs.push(allAt - t0);
    if (process.env.BENCH_DEBUG) {
      console.log(
        await page.evaluate(() =>
          performance
            .getEntriesByType('resource')
            .concat(performance.getEntriesByType('navigation'))
            .map((e) => `${e.name.replace(location.origin, '')} at ${e.startTime.toFixed(0)} ms took ${e.duration.toFixed(0)} ms`)
            .join('\n'),
        ),
      );
    }
    const cookie = (await ctx.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const a0 = performance.now();
    await new Promise((resolve, reject) => {
      const u = new URL('/1.0/guests', base);
      request({ host: u.hostname, port: u.port, path: u.pathname, headers: { cookie } }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    apiMs.push(performance.now() - a0);
    ctxTimes.push(ctx);
    if (i < RUNS - 1) await ctx.close();
  }
  const med = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  report(`first usable guests page with ${N} guests, medians of ${RUNS}`, [
    { what: 'first screen usable', ours: med(screenMs), baseName: 'GET /1.0/guests', base: med(apiMs), budget: 1000, budgetText: '< 1 s' },
    { what: `all ${N} rows in the page`, ours: med(allMs), baseName: 'GET /1.0/guests', base: med(apiMs) },
  ]);
  console.log(`first screen, each run: ${screenMs.map((m) => m.toFixed(0)).join(' ')} ms`);

  // CPU while the page stays open on N live guests, beside the daemon alone (sampling its history)
  const page = ctxTimes.at(-1).pages()[0];
  const d0 = cpuOfTree(daemon.pid);
  const b0 = cpuOfTree('chromium');
  const w0 = performance.now();
  await page.waitForTimeout(WATCH_S * 1000);
  const seconds = (performance.now() - w0) / 1000;
  const dPage = (cpuOfTree(daemon.pid) - d0) / seconds;
  const bPage = (cpuOfTree('chromium') - b0) / seconds;
  const rows = await page.locator('tbody tr').count();
  await browser.close();
  browser = undefined;
  const i0 = cpuOfTree(daemon.pid);
  const iw = performance.now();
  await new Promise((r) => setTimeout(r, WATCH_S * 1000));
  const dIdle = (cpuOfTree(daemon.pid) - i0) / ((performance.now() - iw) / 1000);
  const pct = (x) => `${(x * 100).toFixed(1)} %`;
  console.log(`\nCPU (share of one core) over ${WATCH_S} s with the guests page open on ${rows} live guests`);
  console.log(`  browser (all Chromium processes)   ${pct(bPage)}`);
  console.log(`  vserverd with the page open        ${pct(dPage)}`);
  console.log(`  vserverd with no page (baseline)   ${pct(dIdle)}   ratio ${(dPage / Math.max(dIdle, 1e-6)).toFixed(2)}x`);
} finally {
  await browser?.close().catch(() => undefined);
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
  }
  try {
    vs('stop', '--all', '--timeout', '1');
  } catch (e) {
    console.error(`bench/dashboard: stopping the guests: ${e.message}`);
  }
  for (const g of names) {
    try {
      vs('delete', g);
    } catch {
      /* not built */
    }
  }
  await stopLxcfs(root);
  remove();
}
