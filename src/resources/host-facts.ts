// What this host offers for limits: its CPUs, swap accounting, I/O weights and block devices.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { cpus as osCpus } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parseCpuList } from '../util/units.js';
import type { CgroupLayout } from './cgroup.js';
import { readText } from './cgroup-files.js';
import type { HostFacts } from './limits.js';

export function onlineCpus(): number[] {
  try {
    const list = parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8').trim());
    if (list) return list;
  } catch {
    /* not in /sys: count what Node sees */
  }
  return osCpus().map((_, i) => i);
}

/** True when some disk is driven by BFQ, the scheduler that implements I/O weights. */
export function bfqInUse(): boolean {
  try {
    return readdirSync('/sys/block').some((d) => /\[bfq\]/.test(readText(join('/sys/block', d, 'queue/scheduler')) ?? ''));
  } catch {
    return false;
  }
}

/** Major and minor number of a device number (glibc's encoding: 12+ bits major, 20 bits minor). */
export function majorMinor(dev: bigint): [number, number] {
  return [Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n)), Number((dev & 0xffn) | ((dev >> 12n) & 0xffffff00n))];
}

/** MAJ:MIN of a whole disk given as a path or as MAJ:MIN, or why it cannot be used. */
export function resolveBlockDevice(dev: string): { id: string } | { error: string } {
  let id: string;
  if (/^\d+:\d+$/.test(dev)) {
    if (!existsSync(join('/sys/dev/block', dev))) return { error: `names block device ${dev}, which this host does not have` };
    id = dev;
  } else {
    try {
      const st = statSync(dev, { bigint: true });
      if (!st.isBlockDevice()) return { error: `names ${dev}, which is not a block device` };
      id = majorMinor(st.rdev).join(':');
    } catch {
      return { error: `names ${dev}, which does not exist on this host` };
    }
  }
  // the kernel throttles whole disks only
  const sys = join('/sys/dev/block', id);
  if (existsSync(join(sys, 'partition'))) {
    const disk = basename(dirname(realpathSync(sys)));
    return { error: `names ${dev}, a partition; I/O limits apply to whole disks: use /dev/${disk}` };
  }
  return { id };
}

export function readHostFacts(layout: CgroupLayout, devices: readonly string[], cgroupRoot = '/sys/fs/cgroup'): HostFacts {
  return {
    layout,
    cpus: onlineCpus(),
    ioWeight: bfqInUse(),
    // v1 accounts swap when the memsw files exist; v2 kernels with the memory controller do
    swapAccounting: layout === 'v2' ? true : existsSync(join(cgroupRoot, 'memory', 'memory.memsw.limit_in_bytes')),
    devices: new Map(devices.map((d) => [d, resolveBlockDevice(d)])),
  };
}
