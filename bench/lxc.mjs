// LXC beside vserver in the benchmarks: busybox containers with a veth on a bridge of the benchmark's
// own, in the benchmark's network namespace; installed (without recommends) only when missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { timeCommand } from './lib.mjs';

/** A cgroup of that name in every hierarchy that has it (v1), or the one of v2. */
function cgroupDirs(name) {
  const v1 = readdirSync('/sys/fs/cgroup')
    .map((c) => join('/sys/fs/cgroup', c, name))
    .filter((d) => existsSync(d));
  return existsSync(join('/sys/fs/cgroup', name)) ? [join('/sys/fs/cgroup', name), ...v1] : v1;
}

const which = (p) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', p]).stdout.toString().trim();

/** lxc-start, installing Debian's lxc first if it is missing; undefined with the reason when it cannot be had. */
export function ensureLxc() {
  if (which('lxc-start')) return { ok: true };
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'lxc'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 600_000,
  });
  return which('lxc-start')
    ? { ok: true, installed: true }
    : { ok: false, reason: `apt-get install lxc failed: ${r.stderr?.toString().trim().split('\n').pop()}` };
}

/**
 * n containers named lx1..lxN under lxcpath, each with its own copy (hard links) of `rootfs`, one
 * veth on `bridge` and a static address in 10.52.0.0/16; run through `inNs` (the namespace's nsenter).
 */
export function lxcFleet({ lxcpath, rootfs, n, bridge, inNs }) {
  const names = Array.from({ length: n }, (_, i) => `lx${i + 1}`);
  for (const [i, name] of names.entries()) {
    const dir = join(lxcpath, name);
    mkdirSync(dir, { recursive: true });
    cpSync(rootfs, join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
    const a = i + 2;
    writeFileSync(
      join(dir, 'config'),
      [
        `lxc.uts.name = ${name}`,
        `lxc.rootfs.path = dir:${join(dir, 'rootfs')}`,
        'lxc.net.0.type = veth',
        `lxc.net.0.link = ${bridge}`,
        'lxc.net.0.flags = up',
        `lxc.net.0.veth.pair = lxv${i + 1}`,
        `lxc.net.0.ipv4.address = 10.52.${a >> 8}.${a & 255}/16`,
        'lxc.init.cmd = /sbin/init',
        'lxc.mount.auto = proc:mixed sys:ro',
        'lxc.apparmor.profile = unconfined',
        'lxc.tty.max = 0',
        'lxc.pty.max = 16',
        'lxc.console.path = none',
        `lxc.log.file = ${join(dir, 'log')}`,
        '',
      ].join('\n'),
    );
  }
  const cmd = (file, args) => inNs(file, args);
  const pivotBefore = cgroupDirs('lxc.pivot').length > 0;
  return {
    names,
    start: (name) => {
      const [f, a] = cmd('lxc-start', ['-n', name, '-P', lxcpath, '-d']);
      return timeCommand(f, a, { timeoutMs: 120_000 });
    },
    kill: (name) => {
      const [f, a] = cmd('lxc-stop', ['-k', '-n', name, '-P', lxcpath]);
      return timeCommand(f, a, { allowFail: true, timeoutMs: 120_000 });
    },
    cleanup: () => {
      for (const name of names) {
        const [f, a] = cmd('lxc-stop', ['-k', '-n', name, '-P', lxcpath]);
        spawnSync(f, a, { stdio: 'ignore', timeout: 30_000 });
      }
      // the empty cgroup LXC makes for moving its monitors, unless it was there before
      if (!pivotBefore)
        for (const c of cgroupDirs('lxc.pivot')) {
          try {
            rmdirSync(c);
          } catch {
            /* in use */
          }
        }
    },
  };
}

/** n LXC containers on a bridge lxbr0 (10.52.0.1/16) made in the network namespace `ns`. */
export function lxcOnBridge(ns, lxcpath, rootfs, n) {
  // made once per namespace: a second fleet (the density run) joins the same bridge
  if (spawnSync('ip', ['-n', ns, 'link', 'show', 'lxbr0'], { stdio: 'ignore' }).status !== 0) {
    execFileSync('ip', ['-n', ns, 'link', 'add', 'lxbr0', 'type', 'bridge']);
    execFileSync('ip', ['-n', ns, 'address', 'add', '10.52.0.1/16', 'dev', 'lxbr0']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lxbr0', 'up']);
  }
  // ip netns exec also mounts the namespace's own /sys, where LXC looks for the bridge
  return lxcFleet({ lxcpath, rootfs, n, bridge: 'lxbr0', inNs: (file, args) => ['ip', ['netns', 'exec', ns, file, ...args]] });
}
