// Bundles the CLI into one CommonJS file (Node starts those faster than ES modules) with the verbs
// lazily initialised inside it, plus a small launcher that keeps V8's compiled code between runs.
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { buildDashboard } from './build-dashboard.mjs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/** One CommonJS bundle of an entry point, with the version built in. */
const bundle = (entry, outfile, extra = {}) =>
  build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    define: { VSERVER_VERSION: JSON.stringify(pkg.version) },
    logLevel: 'warning',
    ...extra,
  });

await bundle('src/main.ts', 'dist/vserver-main.cjs');

// vserverd, the API daemon: a bundle of its own, so that the CLI never loads its dependencies.
await bundle('src/daemon/main.ts', 'dist/vserverd.cjs', { banner: { js: '#!/usr/bin/env node' } });
chmodSync('dist/vserverd.cjs', 0o755);

// The web dashboard: browser code and styles in dist/dashboard/, served by vserverd.
await buildDashboard('dist/dashboard');

// The launcher: answers --version by itself, and runs the bundle through vm.Script with a code
// cache, which saves compiling it on every start. A stale or foreign cache is rejected by V8 and
// rewritten; a cache that cannot be written (read-only install) is simply not kept.
const launcher = `#!/usr/bin/env node
'use strict';
const argv = process.argv;
if (argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V')) {
  process.stdout.write('vserver ${pkg.version}\\n');
} else {
  const fs = require('fs');
  const path = require('path');
  const vm = require('vm');
  const file = path.join(__dirname, 'vserver-main.cjs');
  const cacheFile = path.join(__dirname, 'vserver-main.cache');
  let cachedData;
  try { cachedData = fs.readFileSync(cacheFile); } catch {}
  const script = new vm.Script(require('module').wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) {
    process.once('exit', () => {
      const tmp = cacheFile + '.' + process.pid;
      try { fs.writeFileSync(tmp, script.createCachedData()); fs.renameSync(tmp, cacheFile); } catch { try { fs.unlinkSync(tmp); } catch {} }
    });
  }
  script.runInThisContext().call(exports, exports, require, module, file, __dirname);
}
`;
writeFileSync('dist/vserver.cjs', launcher);

/** A static C program in dist/, so that it runs in any guest; without a C compiler, a warning saying what is missing. */
const staticProgram = (out, src, what) => {
  try {
    execFileSync('cc', ['-static', '-Os', '-s', '-Wall', '-o', out, src], { stdio: 'inherit' });
    // whatever the builder's umask: a guest's unprivileged root runs the exec shim (and ping) too
    chmodSync(out, 0o755);
  } catch (e) {
    rmSync(out, { force: true });
    console.warn(`build: no ${what} (${e.code === 'ENOENT' ? 'no C compiler: apt-get install gcc libc6-dev' : e.message})`);
  }
};
// The busybox template's ping (ICMP echo sockets, no raw socket). Without it the template keeps
// busybox's ping, which a guest without CAP_NET_RAW cannot use.
staticProgram('dist/ping', 'src/storage/guest-ping.c', 'static ping for the busybox template');
// The escape helper that `vserver check --escape` runs in a throw-away guest: the host needs no compiler.
staticProgram('dist/escape', 'src/security/escape.c', 'escape helper for vserver check --escape');
// vserverd's watchers: init exits (pidfd) and OOM kills (cgroup events), which Node cannot wait for.
staticProgram('dist/guest-watch', 'src/daemon/guest-watch.c', 'guest watcher for vserverd (died and oom events)');
// The terminal of an interactive exec over the API: receives the runtime's console fd (SCM_RIGHTS).
staticProgram('dist/pty-relay', 'src/daemon/pty-relay.c', 'terminal relay for interactive exec over the API');
// vserverd's programs start from these, forked ahead of time: forking the daemon costs milliseconds each.
staticProgram('dist/spawn-slot', 'src/daemon/spawn-slot.c', 'spawn slot for vserverd (fast exec over the API)');
// What runc exec runs in a guest from fd 3 before the command: puts back the soft open-files limit runc loses.
staticProgram('dist/exec-shim', 'src/runtime/exec-shim.c', 'exec shim (without it, exec needs a shell in the guest)');
// A migration target's rsync in a user namespace, so that owners arrive shifted to this host's range.
staticProgram('dist/idmap-run', 'src/storage/idmap-run.c', 'id-mapping runner for migrate (owners shifted during the copy)');
chmodSync('dist/vserver.cjs', 0o755);
rmSync('dist/vserver-main.cache', { force: true });
execFileSync(process.execPath, ['dist/vserver.cjs', '--help'], { stdio: 'ignore' });
