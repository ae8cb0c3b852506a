// Benchmark of snapshots (not a test), each figure beside the plain tool doing the same work:
//   vserver snapshot NAME        vs  cp -a --reflink=always of the guest's tree (XFS)  /  cp -a (ext4)
//   vserver snapshot restore     vs  the same cp of the snapshot's tree
// on loop-mounted XFS (reflink) and ext4 (full copy) filesystems of the benchmark's own, with a busybox
// guest carrying BENCH_MB (default 200) MB in 2000 files; and how long a running guest stays frozen.
// Run as root after `npm run build`.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CLI, compare, fmt, report, stopLxcfs, tempRoot, timeCommand } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MB = Number(process.env.BENCH_MB ?? 200);
const FILES = 2000;
if (process.getuid() !== 0) {
  console.error('bench/snapshot: needs root');
  process.exit(2);
}

async function onFilesystem(fs) {
  const { root, remove } = tempRoot(`snap-${fs}`);
  const env = { ...process.env, VSERVER_ROOT: root };
  const vs = (...args) => timeCommand(process.execPath, [CLI, ...args], { env });
  const vsJson = (...args) => JSON.parse(execFileSync(process.execPath, [CLI, ...args, '--json'], { env }).toString());
  const lib = join(root, 'var/lib/vserver');
  const img = join(root, `${fs}.img`);
  let mounted = false;
  try {
    execFileSync('truncate', ['-s', `${Math.max(2048, MB * 6)}M`, img]);
    execFileSync(fs === 'xfs' ? 'mkfs.xfs' : 'mkfs.ext4', fs === 'xfs' ? ['-q', '-m', 'reflink=1', img] : ['-q', '-F', img]);
    mkdirSync(lib, { recursive: true });
    execFileSync('mount', ['-o', 'loop', img, lib]);
    mounted = true;
    const info = vsJson('build', 'b1');
    const rootfs = join(lib, 'guests/b1/rootfs');
    const data = join(rootfs, 'data');
    mkdirSync(data);
    const per = Math.floor((MB << 20) / FILES);
    for (let i = 0; i < FILES; i++) writeFileSync(join(data, `f${i}`), randomBytes(per));
    execFileSync('chown', ['-R', `${info.idmap.base}:${info.idmap.base}`, data]);
    execFileSync('sync');
    const cpArgs = fs === 'xfs' ? ['-a', '--reflink=always'] : ['-a'];
    const scratch = join(lib, 'raw-copy');
    const snapTree = join(lib, 'snapshots/b1/s0/tree');
    let n = 0;
    await vs('snapshot', 'b1', 's0');
    const rm = (p) => spawnSync('rm', ['-rf', p]);
    const snaps = await compare(
      {
        snapshot: async () => {
          const ms = await vs('snapshot', 'b1', `s${++n}`);
          await vs('snapshot', 'delete', 'b1', `s${n}`);
          return ms;
        },
        raw: async () => {
          const ms = await timeCommand('cp', [...cpArgs, rootfs, scratch]);
          rm(scratch);
          return ms;
        },
      },
      RUNS,
      1,
    );
    const restores = await compare(
      {
        restore: () => vs('snapshot', 'restore', 'b1', 's0', '--discard'),
        raw: async () => {
          const ms = await timeCommand('cp', [...cpArgs, snapTree, scratch]);
          rm(scratch);
          return ms;
        },
      },
      RUNS,
      1,
    );
    await vs('start', 'b1');
    const frozen = [];
    for (let i = 0; i < RUNS; i++) {
      frozen.push(vsJson('snapshot', 'b1', `live${i}`).frozenMs);
      await vs('snapshot', 'delete', 'b1', `live${i}`);
    }
    await vs('stop', 'b1', '--timeout', '0');
    frozen.sort((a, b) => a - b);
    const method = vsJson('snapshot', 'list', 'b1')[0].method;
    const raw = fs === 'xfs' ? 'cp --reflink' : 'cp -a';
    report(`${fs}: a guest of ${MB} MB in ${FILES} files (method ${method}; medians of ${RUNS})`, [
      { what: 'snapshot (stopped guest)', ours: snaps.snapshot.median, baseName: raw, base: snaps.raw.median },
      { what: 'restore --discard', ours: restores.restore.median, baseName: raw, base: restores.raw.median },
    ]);
    console.log(
      `a running guest is frozen for ${fmt(frozen[Math.floor(frozen.length / 2)])} (median; min ${fmt(frozen[0])}, max ${fmt(frozen[frozen.length - 1])})`,
    );
    await vs('delete', 'b1');
  } finally {
    await stopLxcfs(root);
    spawnSync(process.execPath, [CLI, 'delete', '--force', 'b1'], { env, stdio: 'ignore' });
    if (mounted) spawnSync('umount', ['-l', lib]);
    const loops = spawnSync('losetup', ['-j', img]).stdout.toString();
    for (const l of loops.split('\n')) if (l.includes(':')) spawnSync('losetup', ['-d', l.split(':')[0]]);
    remove();
  }
}

await onFilesystem('xfs');
await onFilesystem('ext4');
