// Reading processes and network counters straight from /proc: no spawning, one small read each.
import { closeSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { readKernelFile } from '../util/procfs.js';

export interface ProcSample {
  pid: number;
  /** CPU time in clock ticks (CLK_TCK per second). */
  utime: number;
  stime: number;
  /** Virtual size and resident set, in bytes. */
  vsize: number;
  rss: number;
  /** When it started, in clock ticks since boot. */
  start: number;
}

let pageSize: number | undefined;

/** The kernel's page size, from our own memory map (the unit of /proc/PID/stat's rss). */
export function kernelPageSize(): number {
  if (pageSize !== undefined) return pageSize;
  pageSize = 4096;
  try {
    const fd = openSync('/proc/self/smaps', 'r');
    try {
      const buf = Buffer.alloc(2048);
      const m = /KernelPageSize:\s+(\d+) kB/.exec(buf.toString('utf8', 0, readSync(fd, buf, 0, buf.length, 0)));
      if (m) pageSize = Number(m[1]) * 1024;
    } finally {
      closeSync(fd);
    }
  } catch {
    /* keep the common 4K */
  }
  return pageSize;
}

/** One /proc/PID/stat line, parsed; the command name may hold spaces and parentheses. */
export function parseProcStat(pid: number, text: string, page = kernelPageSize()): ProcSample | undefined {
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  if (f.length < 22) return undefined;
  return { pid, utime: Number(f[11]), stime: Number(f[12]), start: Number(f[19]), vsize: Number(f[20]), rss: Number(f[21]) * page };
}

export function readProcStat(pid: number): ProcSample | undefined {
  try {
    return parseProcStat(pid, readKernelFile(`/proc/${pid}/stat`));
  } catch {
    return undefined; // gone meanwhile
  }
}

export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => d.charCodeAt(0) >= 48 && d.charCodeAt(0) <= 57)
    .map(Number);
}

export interface NetDevice {
  device: string;
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
}

/** Counters of every interface in a /proc/PID/net/dev text. */
export function parseNetDevices(text: string): NetDevice[] {
  const out: NetDevice[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    out.push({ device: line.slice(0, colon).trim(), rxBytes: f[0]!, rxPackets: f[1]!, txBytes: f[8]!, txPackets: f[9]! });
  }
  return out;
}

/** Bytes received and sent on every interface but loopback, from a /proc/PID/net/dev text. */
export function parseNetDev(text: string): { rx: number; tx: number } {
  const devs = parseNetDevices(text).filter((d) => d.device !== 'lo');
  return { rx: devs.reduce((a, d) => a + d.rxBytes, 0), tx: devs.reduce((a, d) => a + d.txBytes, 0) };
}

/** The network namespace of a process as an identifier ("net:[4026531840]"), or undefined if it is gone. */
export function netns(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** Network counters of the namespace a process lives in. */
export function readNetDev(pid: number): { rx: number; tx: number } | undefined {
  try {
    return parseNetDev(readKernelFile(`/proc/${pid}/net/dev`));
  } catch {
    return undefined;
  }
}
