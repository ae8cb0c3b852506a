// Benchmark of vserver check (not a test): the host check beside `vserver list` (a command that
// does next to nothing), and check --escape beside what it is made of, done by hand through the
// CLI: build, start, one exec and delete of a guest.
import { CLI, compare, report, stopLxcfs, tempRoot, timeCommand } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
if (process.getuid() !== 0) {
  console.error('bench/check: needs root');
  process.exit(2);
}
const { root, remove } = tempRoot('check');
const env = { ...process.env, VSERVER_ROOT: root, VSERVER_ID_REGISTRY: 'var/lib/vserver/ranges' };
const vs = (...args) => timeCommand(process.execPath, [CLI, ...args], { env });

try {
  const s = await compare(
    {
      check: () => vs('check'),
      list: () => vs('list'),
      escape: () => vs('check', '--escape'),
      byHand: async () => {
        let ms = await vs('build', 'bench1', '--backend', 'dir');
        ms += await vs('start', 'bench1');
        ms += await vs('exec', 'bench1', '--', 'true');
        return ms + (await vs('delete', '--force', 'bench1'));
      },
    },
    RUNS,
    1,
  );
  report(`vserver check, medians of ${RUNS}`, [
    { what: 'check', ours: s.check.median, baseName: 'list', base: s.list.median },
    { what: 'check --escape', ours: s.escape.median, baseName: 'build+start+exec+delete', base: s.byHand.median },
  ]);
} finally {
  await stopLxcfs(root);
  remove();
}
