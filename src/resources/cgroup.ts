// Reading the host's cgroup tree: one interface, one implementation per layout (cgroup-v1.ts, cgroup-v2.ts).
import { existsSync } from 'node:fs';
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

export function cgroupReader(root = CGROUP_ROOT): CgroupReader {
  const layout = detectLayout(root);
  return layout === 'v2' ? new CgroupV2(root) : new CgroupV1(root, layout);
}
