// The escape suite's attempts: what the helper (escape.c, built into dist/escape) tries as root in
// a guest, shared by the security tests and `vserver check --escape`.
import { chmodSync, copyFileSync, existsSync, lchownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../util/proc.js';

/** What the attempts aim at on the host. */
export interface EscapeFacts {
  /** A host process (not the guest's) to signal, trace and setns into. */
  sleeperPid: number;
  /** The block device of the host directory `dir`. */
  diskMajor: number;
  diskMinor: number;
  /** A file handle (from the helper's "handle" mode) of a host file that holds MARKER_TEXT. */
  handle: string[];
  /** The helper on the host, and a host directory it may run in. */
  helper: string;
  dir: string;
}

export interface Attempt {
  name: string;
  /** The helper's mode and arguments. */
  args: (f: EscapeFacts) => string[];
  /** Why the attempt cannot get through on this host whatever the confinement, if it cannot. */
  notHere?: (f: EscapeFacts) => Promise<string | undefined> | string | undefined;
}

export const MARKER_TEXT = 'the host';

/** The helper built with the package (next to the bundle), if the build had a C compiler. */
export function bundledHelper(dir = __dirname): string | undefined {
  const p = join(dir, 'escape');
  return existsSync(p) ? p : undefined;
}

/** Why root on the host itself, unconfined, cannot do a (read-only) attempt, if it cannot. */
async function refusedOnHost(f: EscapeFacts, args: string[]): Promise<string | undefined> {
  const line = (await run(f.helper, args, { cwd: f.dir })).stdout.trim(); // exits 1 on ESCAPED
  return line.startsWith('BLOCKED') ? `root on the host itself is refused (${line})` : undefined;
}

export const ATTEMPTS: Attempt[] = [
  { name: 'mount a filesystem', args: () => ['mount'] },
  { name: 'remount a read-only path read-write', args: () => ['remount'] },
  { name: 'load a kernel module', args: () => ['module'] },
  { name: 'write /proc/sys/kernel/core_pattern', args: () => ['procsys'] },
  {
    name: 'write /proc/sysrq-trigger',
    args: () => ['sysrq'],
    notHere: () => (existsSync('/proc/sysrq-trigger') ? undefined : 'the kernel has no /proc/sysrq-trigger (CONFIG_MAGIC_SYSRQ off)'),
  },
  { name: 'write /sys/kernel', args: () => ['syskernel'] },
  {
    name: "read the host's disk through a block device",
    args: (f) => ['blockdev', String(f.diskMajor), String(f.diskMinor)],
    notHere: (f) => refusedOnHost(f, ['blockdev', String(f.diskMajor), String(f.diskMinor)]),
  },
  { name: 'read /dev/mem', args: () => ['devmem'], notHere: (f) => refusedOnHost(f, ['devmem']) },
  { name: 'read /dev/kmsg', args: () => ['kmsg'], notHere: (f) => refusedOnHost(f, ['kmsg']) },
  { name: 'signal a host process', args: (f) => ['signal', String(f.sleeperPid)] },
  { name: 'ptrace a host process', args: (f) => ['ptrace', String(f.sleeperPid)] },
  { name: "setns into the host's namespaces", args: (f) => ['setns', String(f.sleeperPid)] },
  // Dropped: the chroot ".." walk. Its control cannot get through: with the tree moved onto the
  // namespace's root instead of pivot_root (runc --no-pivot), the kernel still stops ".." at the top.
  { name: 'open a host file by handle ("shocker")', args: (f) => ['shocker', ...f.handle, MARKER_TEXT] },
  {
    name: 'cgroup v1 release_agent (CVE-2022-0492)',
    args: () => ['release-agent'],
    notHere: () => (existsSync('/sys/fs/cgroup/memory/release_agent') ? undefined : 'the host has no cgroup v1 memory hierarchy'),
  },
  { name: "change the host's hostname", args: () => ['hostname'] },
  { name: "set the host's clock", args: () => ['clock'] },
  { name: 'reboot the host (Ctrl-Alt-Del setting)', args: () => ['reboot'] },
  { name: 'sniff traffic with a raw socket', args: () => ['rawsock'] },
  { name: 'keyctl', args: () => ['keyctl'] },
  { name: 'bpf', args: () => ['bpf'] },
];

/** The helper's arguments for one batch run of attempts, each in a child of its own. */
export function seqArgs(attempts: readonly Attempt[], f: EscapeFacts): string[] {
  return ['seq', ...attempts.flatMap((a) => [...a.args(f), '--'])];
}

/** The helper's line for each mode, from a "seq" run. */
export function parseSeq(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of stdout.split('\n')) {
    const m = /^([a-z-]+): (.*)$/.exec(l);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** Puts the helper at /usr/local/bin/escape in a guest's tree that has never run, owned by the guest's root. */
export function installHelper(helper: string, rootfs: string, owner: number): void {
  const dir = join(rootfs, 'usr/local/bin');
  mkdirSync(dir, { recursive: true });
  const dest = join(dir, 'escape');
  copyFileSync(helper, dest);
  chmodSync(dest, 0o755);
  lchownSync(dest, owner, owner);
}
