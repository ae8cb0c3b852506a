// The guest's network namespace as a file: a bind mount of nsfs that keeps the namespace (and a
// NIC in it) alive after the guest's processes are gone, until vserver takes it down. Beside it,
// a sysfs of that namespace for the guest's /sys.
import { closeSync, mkdirSync, openSync, rmdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { errnoOf } from '../util/errors.js';
import { runOk } from '../util/proc.js';

const NSFS_MAGIC = 0x6e736673;
const SYSFS_MAGIC = 0x62656572;
const SYSFS_OPTIONS = 'ro,nosuid,nodev,noexec';

/**
 * Run in the new namespace before ip takes over. The host's user namespace owns the namespace, so
 * that a guest in a user namespace of its own can never change its addresses; such a guest is then
 * not root there, so it is let bind low ports and ping, and it could not mount a sysfs showing its
 * own devices either: one is mounted here ($1) for the runtime to bind at /sys. A constant script;
 * the directory comes as an argument.
 */
const IN_NEW_NETNS = [
  'echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start',
  'echo "0 2147483647" > /proc/sys/net/ipv4/ping_group_range',
  `mount -t sysfs -o ${SYSFS_OPTIONS} vserver-sysfs "$1"`,
  'shift',
  'exec "$@"',
].join(' && ');

/**
 * The command prefix that makes a new network namespace bound to the file `path`, mounts its
 * sysfs on `sysDir`, and runs the rest of the command inside it.
 */
export function newNetnsCommand(path: string, sysDir: string): string[] {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  mkdirSync(sysDir, { recursive: true, mode: 0o755 });
  closeSync(openSync(path, 'w', 0o600)); // unshare binds onto an existing file
  return ['unshare', `--net=${path}`, '--', 'sh', '-c', IN_NEW_NETNS, 'sh', sysDir];
}

/** A sysfs of our own network namespace (the host's, for a guest of mode host) on `sysDir`. */
export async function mountSysfs(sysDir: string): Promise<void> {
  mkdirSync(sysDir, { recursive: true, mode: 0o755 });
  await runOk('mount', ['-t', 'sysfs', '-o', SYSFS_OPTIONS, 'vserver-sysfs', sysDir]);
}

function fsType(path: string): number | undefined {
  try {
    return statfsSync(path).type;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** True if the file still holds a namespace (a process that made it with `ip netns exec` takes it along on exit). */
export function netnsMounted(path: string): boolean {
  return fsType(path) === NSFS_MAGIC;
}

/** Unmounts and removes the namespace file and the sysfs directory; says whether a namespace was still held. */
export async function removeNetns(path: string, sysDir: string): Promise<boolean> {
  const held = netnsMounted(path);
  const mounted = [...(held ? [path] : []), ...(fsType(sysDir) === SYSFS_MAGIC ? [sysDir] : [])];
  if (mounted.length > 0) await runOk('umount', mounted);
  rmSync(path, { force: true });
  try {
    rmdirSync(sysDir);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
  return held;
}

/** Turns on IP forwarding in the current network namespace, which NAT and port forwards from outside need. */
export function enableForwarding(v4: boolean, v6: boolean): void {
  if (v4) writeFileSync('/proc/sys/net/ipv4/ip_forward', '1\n');
  if (v6) writeFileSync('/proc/sys/net/ipv6/conf/all/forwarding', '1\n');
}
