// The guest's network namespace as a file: a bind mount of nsfs that keeps the namespace (and a
// NIC in it) alive after the guest's processes are gone, until vserver takes it down. And a sysfs
// of the host's network for guests of mode host.
import { mkdirSync, rmdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { errnoOf } from '../util/errors.js';
import { runOk } from '../util/proc.js';

const NSFS_MAGIC = 0x6e736673;
const SYSFS_MAGIC = 0x62656572;
const SYSFS_OPTIONS = 'ro,nosuid,nodev,noexec';

/**
 * A sysfs of the host's network on `sysDir`, for a guest of mode host: only a process owning the
 * network namespace's user namespace may mount one, which a guest in a user namespace of its own
 * does not, so the runtime binds this one at its /sys.
 */
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
/** Lets a bridge carry the host's 127.0.0.1 to guests (for port forwards), or stops it; gone bridges are skipped. */
export function setRouteLocalnet(bridge: string, on: boolean): void {
  try {
    writeFileSync(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, on ? '1\n' : '0\n');
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
}

export function enableForwarding(v4: boolean, v6: boolean): void {
  if (v4) writeFileSync('/proc/sys/net/ipv4/ip_forward', '1\n');
  if (v6) writeFileSync('/proc/sys/net/ipv6/conf/all/forwarding', '1\n');
}
