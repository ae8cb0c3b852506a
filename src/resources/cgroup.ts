// Reading the host's cgroup tree: one interface, one implementation per layout (cgroup-v1.ts, cgroup-v2.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CgroupV1 } from './cgroup-v1.js';
import { CgroupV2 } from './cgroup-v2.js';
import type { CgroupLayout, CgroupReader } from './cgroup-types.js';

export { CgroupV1 } from './cgroup-v1.js';
export { CgroupV2 } from './cgroup-v2.js';
export type { CgroupEvents, CgroupLayout, CgroupLimits, CgroupReader, CgroupUsage, IoDeviceLimit, LimitCounters } from './cgroup-types.js';

export const CGROUP_ROOT = '/sys/fs/cgroup';

export function detectLayout(root = CGROUP_ROOT): CgroupLayout {
  if (existsSync(join(root, 'cgroup.controllers'))) return 'v2';
  return existsSync(join(root, 'unified', 'cgroup.controllers')) ? 'hybrid' : 'v1';
}

/** The controllers a hybrid host left on its unified tree (crun runs there only when there are none). */
export function unifiedControllers(root = CGROUP_ROOT): string[] | undefined {
  try {
    return readFileSync(join(root, 'unified', 'cgroup.controllers'), 'utf8')
      .split(/\s+/)
      .filter(Boolean);
  } catch {
    return undefined; // unreadable: crun is not risked
  }
}

export function cgroupReader(root = CGROUP_ROOT): CgroupReader {
  const layout = detectLayout(root);
  return layout === 'v2' ? new CgroupV2(root) : new CgroupV1(root, layout);
}
