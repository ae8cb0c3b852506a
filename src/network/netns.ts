// The guest's network namespace as a file: a bind mount of nsfs that keeps the namespace (and a
// NIC in it) alive after the guest's processes are gone, until vserver takes it down.
import { closeSync, mkdirSync, openSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { errnoOf } from '../util/errors.js';
import { runOk } from '../util/proc.js';

const NSFS_MAGIC = 0x6e736673;

/**
 * The command prefix that makes a new network namespace, binds it to `path` and runs the rest of
 * the command inside it (unshare needs the file to exist).
 */
export function newNetnsCommand(path: string): string[] {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'w', 0o600));
  return ['unshare', `--net=${path}`, '--'];
}

/** True if the file still holds a namespace (a process that made it with `ip netns exec` takes it along on exit). */
export function netnsMounted(path: string): boolean {
  try {
    return statfsSync(path).type === NSFS_MAGIC;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw e;
  }
}

export async function removeNetns(path: string): Promise<boolean> {
  const mounted = netnsMounted(path);
  if (mounted) await runOk('umount', [path]);
  rmSync(path, { force: true });
  return mounted;
}

/** Turns on IP forwarding in the current network namespace, which NAT and port forwards from outside need. */
export function enableForwarding(v4: boolean, v6: boolean): void {
  if (v4) writeFileSync('/proc/sys/net/ipv4/ip_forward', '1\n');
  if (v6) writeFileSync('/proc/sys/net/ipv6/conf/all/forwarding', '1\n');
}
