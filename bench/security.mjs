// Benchmark of the security layers (not a test): the same work inside an unprivileged guest with
// the default seccomp filter and on the host, as a ratio of speeds (host time / guest time).
//   10^7 getpid calls (a syscall-heavy loop) and 1000 fork+exec of `true`.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, lchownSync, mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, rawBundleFrom, stats, tempRoot } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
if (process.getuid() !== 0) {
  console.error('bench/security: needs root');
  process.exit(2);
}
const runc = spawnSync('sh', ['-c', 'command -v runc']).stdout.toString().trim();
const { root, remove } = tempRoot('sec');
const rawState = join(root, 'raw-state');
const env = { ...process.env, VSERVER_ROOT: root };
const vs = (...args) => execFileSync(process.execPath, [CLI, ...args], { env }).toString();

try {
  const helper = join(mkdtempSync(join(root, 'h-')), 'escape');
  execFileSync('gcc', ['-static', '-O2', '-o', helper, new URL('../src/security/escape.c', import.meta.url).pathname]);
  vs('build', 'sec1');
  const base = JSON.parse(spawnSync(process.execPath, [CLI, 'status', 'sec1', '--json'], { env }).stdout.toString()).idmap.base;
  const dest = join(root, 'var/lib/vserver/guests/sec1/rootfs/usr/local/bin');
  mkdirSync(dest, { recursive: true });
  copyFileSync(helper, join(dest, 'escape'));
  lchownSync(join(dest, 'escape'), base, base);
  vs('start', 'sec1');
  // the same guest run by the raw runtime without any seccomp filter, to tell what the filter costs
  const rawBundle = rawBundleFrom(root, 'sec1', join(root, 'raw-noseccomp'), (spec) => {
    delete spec.linux.seccomp;
    spec.linux.cgroupsPath = `/vsbench-noseccomp-${process.pid}`;
    spec.process.args = ['/bin/sleep', '100000'];
  });
  execFileSync(runc, ['--root', rawState, 'run', '-d', '--bundle', rawBundle, 'noseccomp'], { stdio: 'ignore' });

  const work = [
    { what: '10^7 getpid', args: ['getpid', '10000000'] },
    { what: '1000 fork+exec true', args: ['forkexec', '1000', '/bin/busybox'] },
  ];
  console.log(`\nsecurity layers: unprivileged guest (user namespace, seccomp, secure capabilities) vs host, medians of ${RUNS}`);
  console.log('(beside it: the same guest under the raw runtime with no seccomp filter at all)');
  console.log(['work'.padEnd(22), 'host'.padEnd(10), 'guest'.padEnd(10), 'speed ratio', 'budget >= 0.95', 'no-seccomp ratio'].join('  '));
  for (const w of work) {
    const host = [];
    const guest = [];
    const bare = [];
    for (let i = 0; i < RUNS; i++) {
      // the program measures its own loop, so that starting it does not count
      host.push(Number(execFileSync(helper, w.args).toString()));
      guest.push(Number(vs('exec', 'sec1', '--', '/usr/local/bin/escape', ...w.args)));
      bare.push(Number(execFileSync(runc, ['--root', rawState, 'exec', 'noseccomp', '/usr/local/bin/escape', ...w.args]).toString()));
    }
    const h = stats(host).median;
    const g = stats(guest).median;
    const ratio = h / g;
    console.log(
      [
        w.what.padEnd(22),
        `${h.toFixed(0)} ms`.padEnd(10),
        `${g.toFixed(0)} ms`.padEnd(10),
        ratio.toFixed(3).padEnd(11),
        (ratio >= 0.95 ? 'yes' : 'NO').padEnd(14),
        (h / stats(bare).median).toFixed(3),
      ].join('  '),
    );
  }
} finally {
  spawnSync(runc, ['--root', rawState, 'delete', '--force', 'noseccomp']);
  spawnSync(process.execPath, [CLI, 'delete', '--force', 'sec1'], { env });
  remove();
}
