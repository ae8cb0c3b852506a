// Reading /proc: whether a process still lives, and for how long it has.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { sleep } from './proc.js';

/** One buffer for all reads of kernel files: each is decoded before the next is read. */
const KBUF = Buffer.alloc(65536);

/**
 * A file the kernel makes as it is read (/proc, cgroup files): it fills the reader's buffer as far as
 * it has records, so a read shorter than the buffer is the whole of it. That saves the read that
 * only finds the end, a quarter of the system calls when stat and top read thousands of such files.
 */
export function readKernelFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    let n = readSync(fd, KBUF, 0, KBUF.length, null);
    if (n < KBUF.length) return KBUF.toString('utf8', 0, n);
    const parts = [Buffer.from(KBUF)];
    while ((n = readSync(fd, KBUF, 0, KBUF.length, null)) > 0) parts.push(Buffer.from(KBUF.subarray(0, n)));
    return Buffer.concat(parts).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Clock ticks per second of /proc/PID/stat times (USER_HZ, 100 on every Linux architecture in use). */
export const CLK_TCK = 100;

/** Fields of /proc/PID/stat after the command name; index 0 is the state letter. */
export function statFields(pid: number): string[] | undefined {
  try {
    const stat = readKernelFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Start time of a living process (ticks since boot), or undefined if it is gone or a zombie. */
export function processStartTime(pid: number): string | undefined {
  const f = statFields(pid);
  if (!f || f[0] === 'Z' || f[0] === 'X') return undefined;
  return f[19];
}

export function systemUptime(): number {
  return Number(readKernelFile('/proc/uptime').split(' ')[0]);
}

/** Seconds a process has been running, or undefined if it is gone. */
export function processUptime(pid: number): number | undefined {
  const start = processStartTime(pid);
  if (start === undefined) return undefined;
  return uptimeSince(Number(start), systemUptime());
}

/** Whole seconds since a start in clock ticks since boot, at the host's uptime in seconds. */
export function uptimeSince(startTicks: number, hostUptime: number): number {
  return Math.max(0, Math.floor(hostUptime - startTicks / CLK_TCK));
}

/** Waits until the process that had this start time is gone; false on timeout. */
export async function waitGone(pid: number, start: string | undefined, timeoutMs: number): Promise<boolean> {
  if (start === undefined) return true;
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    if (processStartTime(pid) !== start) return true;
    if (Date.now() >= deadline) return false;
    await sleep(delay);
    // a look is one small read: a bulk stop's deaths are seen within 20 ms, not 50
    delay = Math.min(delay * 2, 20);
  }
}

const LIMIT_NAMES: Record<string, string> = {
  'Max cpu time': 'RLIMIT_CPU',
  'Max file size': 'RLIMIT_FSIZE',
  'Max data size': 'RLIMIT_DATA',
  'Max stack size': 'RLIMIT_STACK',
  'Max core file size': 'RLIMIT_CORE',
  'Max resident set': 'RLIMIT_RSS',
  'Max processes': 'RLIMIT_NPROC',
  'Max open files': 'RLIMIT_NOFILE',
  'Max locked memory': 'RLIMIT_MEMLOCK',
  'Max address space': 'RLIMIT_AS',
  'Max file locks': 'RLIMIT_LOCKS',
  'Max pending signals': 'RLIMIT_SIGPENDING',
  'Max msgqueue size': 'RLIMIT_MSGQUEUE',
  'Max nice priority': 'RLIMIT_NICE',
  'Max realtime priority': 'RLIMIT_RTPRIO',
  'Max realtime timeout': 'RLIMIT_RTTIME',
};

/** Our own resource limits (/proc/self/limits); Infinity for unlimited. */
export function ownRlimits(text = readFileSync('/proc/self/limits', 'utf8')): Map<string, { soft: number; hard: number }> {
  const out = new Map<string, { soft: number; hard: number }>();
  for (const line of text.split('\n').slice(1)) {
    const m = /^(.+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    const type = m && LIMIT_NAMES[m[1]!.trim()];
    if (!m || !type) continue;
    const num = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
    out.set(type, { soft: num(m[2]!), hard: num(m[3]!) });
  }
  return out;
}

/** Whether we hold CAP_SYS_RESOURCE, which raising a hard limit needs (root in a container may lack it). */
export function canRaiseLimits(status = readFileSync('/proc/self/status', 'utf8')): boolean {
  const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return eff !== undefined && (BigInt(`0x${eff}`) & (1n << 24n)) !== 0n;
}

/**
 * The highest hard limits this process can hand to a child. With CAP_SYS_RESOURCE any value, except
 * open files, which the kernel caps at fs.nr_open; then it does not depend on the calling shell.
 * Without it, our own hard limits.
 */
export function rlimitCeiling(
  own = ownRlimits(),
  raise = canRaiseLimits(),
  nrOpen = () => Number(readFileSync('/proc/sys/fs/nr_open', 'utf8')),
): Map<string, { hard: number }> {
  if (!raise) return own;
  return new Map([...own.keys()].map((type) => [type, { hard: type === 'RLIMIT_NOFILE' ? nrOpen() : Infinity }]));
}
