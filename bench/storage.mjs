// Benchmark of guest storage (not a test), each figure beside the plain tool doing the same work:
//   overlay build from a 300 MB template (busybox plus real files from the host's /usr)   vs  a dir build (copy)  vs  cp -a of the template (and lxc-copy -s if installed)
//   disk used by 20 overlay guests          vs  20 dir guests
//   vserver export / import                 vs  tar | zstd  /  zstd -d | tar -x  (same zstd settings)
// Budgets: an overlay build takes <= 100 ms at any template size; export within 1.2 x of tar | zstd.
// Run as root after `npm run build`. BENCH_GUESTS (default 20) sets the guest count of the disk figure.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statfsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLI, compare, fmt, report, tempRoot, timeCommand } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const GUESTS = Number(process.env.BENCH_GUESTS ?? 20);
const TEMPLATE_MB = 300;
if (process.getuid() !== 0) {
  console.error('bench/storage: needs root');
  process.exit(2);
}
const which = (p) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', p]).stdout.toString().trim();

const { root, remove } = tempRoot('storage');
execFileSync('chmod', ['755', root]);
const env = { ...process.env, VSERVER_ROOT: root };
const vs = (...args) => timeCommand(process.execPath, [CLI, ...args], { env });
const vsSync = (...args) => execFileSync(process.execPath, [CLI, ...args], { env, maxBuffer: 1 << 26 }).toString();
const freeBytes = () => {
  const s = statfsSync(root);
  return Number(s.bavail) * Number(s.bsize);
};
const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
const sh = (script, ...args) => timeCommand('sh', ['-c', script, 'sh', ...args]);

/** Regular files of the host's /usr, in name order, up to `bytes`: real binaries, libraries and data. */
function hostFiles(bytes) {
  const out = [];
  let total = 0;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (total >= bytes) return;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const size = statSync(p).size;
        if (size === 0 || size > 64 << 20) continue;
        out.push(p);
        total += size;
      }
    }
  };
  for (const d of ['/usr/bin', '/usr/lib/x86_64-linux-gnu', '/usr/share']) walk(d);
  return out;
}

/** A template of about `megabytes`: the busybox system plus files copied from the host's /usr. */
function makeTemplate(name, megabytes, context) {
  vsSync('build', `${name}-seed`, '--context', String(context));
  const rootfs = join(root, `var/lib/vserver/guests/${name}-seed/rootfs`);
  const dir = join(rootfs, 'usr/share/filler');
  for (const f of hostFiles(megabytes * 1e6)) {
    const to = join(dir, f.slice(1));
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(f, to);
  }
  const base = context * 65536;
  execFileSync('chown', ['-R', `${base}:${base}`, dir]);
  vsSync('template', 'create', name, '--from-guest', `${name}-seed`);
  vsSync('delete', `${name}-seed`);
  return join(root, `var/lib/vserver/templates/${name}/rootfs`);
}

try {
  console.log(`making a ${TEMPLATE_MB} MB template and a small one ...`);
  const bigTree = makeTemplate('big', TEMPLATE_MB, 4000);
  makeTemplate('small', 1, 4001);
  const used = Number(execFileSync('du', ['-sb', bigTree]).toString().split('\t')[0]);
  console.log(`template 'big': ${mb(used)}`);

  // --- building: overlay vs dir copy vs cp -a ---
  let n = 0;
  const cpDir = join(root, 'cp');
  const build = await compare(
    {
      cli: () => vs('build', '--help'),
      overlayBig: () => vs('build', `ob${n++}`, '--template', 'big'),
      overlaySmall: () => vs('build', `os${n++}`, '--template', 'small'),
    },
    RUNS,
  );
  const copies = await compare(
    {
      dir: () => vs('build', `d${n++}`, '--template', 'big', '--backend', 'dir'),
      cpa: async () => {
        rmSync(cpDir, { recursive: true, force: true });
        return timeCommand('cp', ['-a', bigTree, cpDir]);
      },
    },
    3,
    0,
  );
  for (const g of JSON.parse(vsSync('list', '--json'))) vsSync('delete', g.name);
  rmSync(cpDir, { recursive: true, force: true });
  const startup = build.cli.median;
  report(`building a guest from a ${mb(used)} template (medians; 'vserver build --help' = ${fmt(startup)} of node start-up and parsing)`, [
    { what: 'overlay build, 300 MB template (whole CLI)', ours: build.overlayBig.median, baseName: 'cp -a', base: copies.cpa.median },
    {
      what: 'overlay build, 300 MB template (build work)',
      ours: build.overlayBig.median - startup,
      baseName: 'cp -a',
      base: copies.cpa.median,
      budget: 100,
      budgetText: '<= 100 ms',
    },
    {
      what: 'overlay build, 1 MB template (build work)',
      ours: build.overlaySmall.median - startup,
      baseName: 'cp -a',
      base: copies.cpa.median,
      budget: 100,
      budgetText: '<= 100 ms',
    },
    { what: 'dir build (own copy, re-owned)', ours: copies.dir.median, baseName: 'cp -a', base: copies.cpa.median },
  ]);
  console.log(
    `lxc-copy: ${which('lxc-copy') ? 'installed, but no LXC container of ours to copy; not compared' : 'not installed, not compared'}`,
  );

  // --- disk used by GUESTS overlay guests vs GUESTS dir guests ---
  const disk = {};
  for (const backend of ['overlay', 'dir']) {
    const before = freeBytes();
    for (let i = 0; i < GUESTS; i++) vsSync('build', `${backend[0]}${i}`, '--template', 'big', '--backend', backend);
    execFileSync('sync');
    disk[backend] = before - freeBytes();
    const rows = JSON.parse(vsSync('du', '--json'));
    disk[`${backend}Du`] = rows.reduce((a, r) => a + r.bytes, 0);
    for (const r of rows) vsSync('delete', r.name);
  }
  console.log(`\ndisk used by ${GUESTS} guests of the ${mb(used)} template (free space consumed; vserver du's own bytes in brackets)`);
  console.log(
    `  overlay: ${mb(disk.overlay)} [${mb(disk.overlayDu)}]   dir: ${mb(disk.dir)} [${mb(disk.dirDu)}]   ratio dir/overlay: ${(disk.dir / Math.max(disk.overlay, 1)).toFixed(0)}x`,
  );

  // --- export and import vs tar | zstd ---
  vsSync('build', 'x', '--template', 'big', '--backend', 'dir');
  const guestDir = join(root, 'var/lib/vserver/guests/x');
  const ours = join(root, 'x.tar.zst');
  const plain = join(root, 'plain.tar.zst');
  const outDir = join(root, 'plain-out');
  let k = 0;
  const xp = await compare(
    {
      export: () => vs('export', 'x', ours),
      tarZstd: () =>
        sh(
          'tar -C "$1" --create --file=- --format=posix --numeric-owner --xattrs --xattrs-include="*" --one-file-system rootfs | zstd -q -3 -c > "$2"',
          guestDir,
          plain,
        ),
    },
    5,
    1,
  );
  const im = await compare(
    {
      import: async () => {
        const ms = await vs('import', ours, '--name', `i${k}`);
        vsSync('delete', `i${k++}`);
        return ms;
      },
      zstdTar: async () => {
        rmSync(outDir, { recursive: true, force: true });
        mkdirSync(outDir);
        return sh(
          'zstd -dcq "$1" | tar -C "$2" -x --numeric-owner --same-owner --same-permissions --xattrs --xattrs-include="*" -f -',
          plain,
          outDir,
        );
      },
    },
    5,
    1,
  );
  rmSync(outDir, { recursive: true, force: true });
  const size = statSync(ours).size;
  const tput = (ms) => `${(used / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
  report(`export and import of a ${mb(used)} guest (archive ${mb(size)}, plain ${mb(statSync(plain).size)}; medians of 5)`, [
    {
      what: `export (${tput(xp.export.median)})`,
      ours: xp.export.median,
      baseName: `tar | zstd (${tput(xp.tarZstd.median)})`,
      base: xp.tarZstd.median,
      budget: 1.2 * xp.tarZstd.median,
      budgetText: '<= 1.2 x tar | zstd',
    },
    {
      what: `import (${tput(im.import.median)})`,
      ours: im.import.median,
      baseName: `zstd -d | tar -x (${tput(im.zstdTar.median)})`,
      base: im.zstdTar.median,
    },
  ]);
} finally {
  for (const g of (() => {
    try {
      return JSON.parse(vsSync('list', '--json'));
    } catch {
      return [];
    }
  })())
    spawnSync(process.execPath, [CLI, 'delete', '--force', g.name], { env });
  for (const t of ['big', 'small']) spawnSync(process.execPath, [CLI, 'template', 'delete', t], { env });
  spawnSync('sh', ['-c', 'grep -o " $1[^ ]*" /proc/self/mounts | xargs -r -n1 umount', 'sh', root]);
  remove();
}
