// The built-in busybox template: a small but real system made from the host's busybox-static.
import { chmodSync, copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { VsError } from '../util/errors.js';
import { runOk } from '../util/proc.js';
import { isStaticElf } from './elf.js';

export const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox', '/usr/lib/busybox/busybox-static'];

export function findStaticBusybox(candidates = BUSYBOX_CANDIDATES): string | undefined {
  return candidates.find((p) => isStaticElf(p));
}

export function requireStaticBusybox(): string {
  const p = findStaticBusybox();
  if (!p) {
    throw new VsError(
      'DEPENDENCY_MISSING',
      'no statically linked busybox found on the host (looked at ' + `${BUSYBOX_CANDIDATES.join(', ')})`,
      'install it: apt-get install busybox-static',
    );
  }
  return p;
}

/** The static ping that `npm run build` makes beside the bundle (when the host has a C compiler). */
export function guestPing(dir = __dirname): string | undefined {
  const p = join(dir, 'ping');
  return isStaticElf(p) ? p : undefined;
}

export interface BusyboxOptions {
  hostname: string;
}

const DIRS: [string, number][] = [
  ['bin', 0o755],
  ['sbin', 0o755],
  ['usr/bin', 0o755],
  ['usr/sbin', 0o755],
  ['etc/init.d', 0o755],
  ['etc/rc.d', 0o755],
  ['dev', 0o755],
  ['proc', 0o555],
  ['sys', 0o555],
  ['run', 0o755],
  ['tmp', 0o1777],
  ['var/log', 0o755],
  ['var/run', 0o755],
  ['var/tmp', 0o1777],
  ['root', 0o700],
  ['home', 0o755],
  ['mnt', 0o755],
  ['www', 0o755],
];

function files(o: BusyboxOptions): [string, string, number][] {
  return [
    [
      'etc/inittab',
      [
        '# busybox init: start-up script at boot, stop script at halt; no getty, a guest has no tty',
        '::sysinit:/etc/init.d/rcS',
        '::shutdown:/etc/init.d/rcK',
        '',
      ].join('\n'),
      0o644,
    ],
    [
      'etc/init.d/rcS',
      [
        '#!/bin/sh',
        '# Runs each /etc/rc.d/S* script in order with "start".',
        'for s in /etc/rc.d/S*; do',
        '  [ -x "$s" ] && "$s" start',
        'done',
        'echo "$(hostname): started"',
        '',
      ].join('\n'),
      0o755,
    ],
    [
      'etc/init.d/rcK',
      [
        '#!/bin/sh',
        '# Runs each /etc/rc.d/K* script in order with "stop".',
        'for s in /etc/rc.d/K*; do',
        '  [ -x "$s" ] && "$s" stop',
        'done',
        'echo "$(hostname): stopping"',
        '',
      ].join('\n'),
      0o755,
    ],
    [
      'etc/passwd',
      'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n' +
        'www-data:x:33:33:www-data:/www:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
      0o644,
    ],
    ['etc/group', 'root:x:0:\ndaemon:x:1:\ntty:x:5:\nwww-data:x:33:\nnogroup:x:65534:\n', 0o644],
    [
      'etc/shadow',
      'root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nwww-data:*:19000:0:99999:7:::\n' + 'nobody:*:19000:0:99999:7:::\n',
      0o640,
    ],
    ['etc/hostname', `${o.hostname}\n`, 0o644],
    ['etc/hosts', `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${o.hostname}\n`, 0o644],
    ['etc/resolv.conf', '', 0o644],
    ['etc/profile', 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n' + 'export PS1="\\u@\\h:\\w\\$ "\n', 0o644],
    ['etc/shells', '/bin/sh\n/bin/ash\n', 0o644],
  ];
}

/** Fills `rootfs` (a fresh directory the caller owns) with the busybox system. */
export async function buildBusybox(rootfs: string, o: BusyboxOptions): Promise<void> {
  const busybox = requireStaticBusybox();
  for (const [d, mode] of DIRS) {
    mkdirSync(join(rootfs, d), { recursive: true });
    chmodSync(join(rootfs, d), mode);
  }
  copyFileSync(busybox, join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  const applets = (await runOk(busybox, ['--list-full'])).stdout.split('\n').filter((l) => l !== '');
  for (const rel of applets) {
    if (rel === 'bin/busybox' || rel.includes('..') || rel.startsWith('/')) continue;
    mkdirSync(dirname(join(rootfs, rel)), { recursive: true });
    symlinkSync('/bin/busybox', join(rootfs, rel));
  }
  // busybox's ping needs a raw socket, which guests do not get; ours uses ICMP echo sockets
  const ping = guestPing();
  if (ping) {
    for (const applet of ['bin/ping', 'bin/ping6']) rmSync(join(rootfs, applet), { force: true });
    copyFileSync(ping, join(rootfs, 'bin/ping'));
    chmodSync(join(rootfs, 'bin/ping'), 0o755);
    symlinkSync('ping', join(rootfs, 'bin/ping6'));
  }
  for (const [f, text, mode] of files(o)) {
    writeFileSync(join(rootfs, f), text, { mode });
    chmodSync(join(rootfs, f), mode);
  }
}
