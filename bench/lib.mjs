// Shared helpers for the benchmarks: timing whole commands, statistics, and the ratio table.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, cpSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';

export const CLI = new URL('../dist/vserver.cjs', import.meta.url).pathname;
export const DAEMON = new URL('../dist/vserverd.cjs', import.meta.url).pathname;

/** Wall time of one command in milliseconds; rejects if it fails. */
export function timeCommand(file, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    // timeoutMs: killed (SIGTERM) after that long, so that a benchmark left alone ends
    // stderr is kept (its end) so that a failure says why
    const child = spawn(file, args, {
      stdio: opts.stdio ?? ['ignore', 'ignore', 'pipe'],
      env: opts.env ?? process.env,
      timeout: opts.timeoutMs,
    });
    // a piped stdin reads as empty: crun before 1.24 would give a guest's root the host's /dev/null
    child.stdin?.end();
    let err = '';
    child.stderr?.on('data', (b) => (err = (err + b).slice(-4096)));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0 && !opts.allowFail) reject(new Error(`${file} ${args.join(' ')} exited ${code}${err ? `:\n${err}` : ''}`));
      else resolve(ms);
    });
  });
}

/**
 * Runs each named task `runs` times, interleaved so that drift on the machine hits all alike; with
 * shuffle, in a new order each round, so that no task always follows the same one.
 */
export async function compare(tasks, runs, warmup = 2, { shuffle = false } = {}) {
  const samples = Object.fromEntries(Object.keys(tasks).map((k) => [k, []]));
  for (let i = 0; i < warmup + runs; i++) {
    const order = Object.entries(tasks);
    if (shuffle) order.sort(() => Math.random() - 0.5);
    for (const [name, fn] of order) {
      const ms = await fn();
      if (i >= warmup) samples[name].push(ms);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, stats(v)]));
}

export function stats(v) {
  const s = [...v].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { median, mean, min: s[0], max: s[s.length - 1], n: s.length };
}

export function fmt(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

/**
 * Prints rows of [what, ours, baseline label, baseline, budget text, within budget?]. Times by
 * default (lower is better); with { higher: true, format } for rates such as throughput.
 */
export function report(title, rows, { higher = false, format = fmt } = {}) {
  console.log(`\n${title}`);
  const head = ['measure', 'vserver', 'baseline', 'ratio', 'budget', 'ok'];
  const within = (r) => (higher ? r.ours >= r.budget : r.ours <= r.budget);
  const body = rows.map((r) => [
    r.what,
    format(r.ours),
    `${r.baseName} ${format(r.base)}`,
    `${(r.ours / r.base).toFixed(2)}x`,
    r.budgetText ?? '-',
    r.budget === undefined ? '-' : within(r) ? 'yes' : 'NO',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  for (const line of [head, ...body]) console.log(line.map((c, i) => c.padEnd(w[i])).join('  '));
}

export function tempRoot(tag) {
  // the benchmark's installations claim id ranges under their own root, never in the host's registry
  process.env.VSERVER_ID_REGISTRY ??= 'var/lib/vserver/ranges';
  const root = mkdtempSync(join('/tmp', `vsbench-${tag}-`));
  chmodSync(root, 0o755); // unprivileged guest root must pass through it
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** The prefix of the cgroups of the installation at root (the rule of Paths.cgroupPrefix: FNV-1a of the path). */
export function cgroupPrefix(root) {
  let h = 0x811c9dc5;
  for (let i = 0; i < root.length; i++) h = Math.imul(h ^ root.charCodeAt(i), 0x01000193) >>> 0;
  return `vserver-${h.toString(16).padStart(8, '0').slice(0, 6)}-`;
}

/** Unmounts the lxcfs that guest starts launched for the installation at root, and waits for it to exit. */
export async function stopLxcfs(root) {
  spawnSync('umount', ['-l', join(root, 'run/vserver/lxcfs')]);
  const pidfile = join(root, 'run/vserver/lxcfs.pid');
  let pid;
  try {
    pid = Number(readFileSync(pidfile, 'utf8'));
  } catch {
    return; // lxcfs removed it on its way out
  }
  const isLxcfs = () => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'lxcfs';
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 150 && isLxcfs(); i++) await new Promise((r) => setTimeout(r, 20));
  if (isLxcfs()) process.kill(pid, 'SIGKILL');
}

/**
 * A bundle for the raw runtime made from the one vserver wrote for a running guest: the same
 * config.json (changed by edit) and the /etc files it binds, which go away at the guest's stop.
 */
export function rawBundleFrom(root, guest, dest, edit) {
  const own = join(root, 'run/vserver/bundles', guest);
  cpSync(own, dest, { recursive: true });
  const spec = JSON.parse(readFileSync(join(dest, 'config.json'), 'utf8'));
  for (const m of spec.mounts) if (m.source?.startsWith(`${own}/`)) m.source = dest + m.source.slice(own.length);
  edit(spec);
  writeFileSync(join(dest, 'config.json'), JSON.stringify(spec));
  return dest;
}

/** fn over items, `k` at a time. */
export async function pool(items, k, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(k, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

/** One JSON request to vserverd on its Unix socket; rejects on a status of 300 or more. */
export function socketApi(sock, method, path, body) {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, method, path, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () =>
        res.statusCode < 300
          ? resolve(text ? JSON.parse(text) : undefined)
          : reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`)),
      );
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

/** vserverd --foreground (run through `wrap`, e.g. nsenter, when given), once it listens. */
export function startDaemon(wrap, env) {
  const [file, ...args] = [...wrap, process.execPath, DAEMON, '--foreground'];
  const daemon = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    daemon.stderr.on('data', (b) => {
      if (b.toString().includes('listening on')) resolve(daemon);
    });
    daemon.once('exit', (c) => reject(new Error(`vserverd exited ${c}`)));
  });
}

/** The runtime vserver chose for this root (recorded at its first start), and its state directory. */
export function chosenRuntime(root) {
  const { name, path } = JSON.parse(readFileSync(join(root, 'run/vserver/runtime.json'), 'utf8'));
  return { name, path, state: join(root, 'run/vserver', name) };
}

/** Resolves once the process has gone (exited, reaped, or its PID taken by another). */
async function waitGone(pid) {
  const start = () => {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return f[0] === 'Z' ? undefined : f[19];
    } catch {
      return undefined;
    }
  };
  const first = start();
  while (first !== undefined && start() === first) await new Promise((r) => setTimeout(r, 5));
}

/** The raw runtime's start + stop of a bundle as container raw1: run -d, kill, wait, delete; in ms. */
async function rawStartStop(runtime, rawState, rawBundle, log) {
  const t0 = performance.now();
  await timeCommand(runtime, ['--root', rawState, 'run', '-d', '--bundle', rawBundle, 'raw1'], { stdio: ['pipe', log, log] });
  const pid = JSON.parse(execFileSync(runtime, ['--root', rawState, 'state', 'raw1']).toString()).pid;
  await timeCommand(runtime, ['--root', rawState, 'kill', 'raw1', '30']);
  await waitGone(pid);
  await timeCommand(runtime, ['--root', rawState, 'delete', 'raw1']);
  return performance.now() - t0;
}

/**
 * The raw runtime's container raw1 on a copy of the guest's config.json (in a cgroup of its own, named
 * with tag), to time beside ours; close() when done, removeRawContainer() in a finally.
 */
export function rawContainer(root, guest, runtime, tag) {
  const bundle = rawBundleFrom(root, guest, join(root, 'raw-bundle'), (spec) => {
    spec.linux.cgroupsPath = `/vsbench-${tag}-${process.pid}`;
  });
  const log = openSync(join(root, 'raw.log'), 'a');
  return { startStop: () => rawStartStop(runtime, join(root, 'raw-state'), bundle, log), close: () => closeSync(log) };
}

/** Removes raw1 where a run left it behind. */
export function removeRawContainer(root) {
  try {
    spawnSync(chosenRuntime(root).path, ['--root', join(root, 'raw-state'), 'delete', '--force', 'raw1']);
  } catch {
    /* the runtime was never chosen: nothing ran */
  }
}
