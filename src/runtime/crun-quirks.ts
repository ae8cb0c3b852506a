// What crun (1.8, Debian 12's) does otherwise than runc, and what vserver does about it.
import type { OciResources } from '../oci/types.js';

/**
 * crun (1.8) writes "no limit" as -1, which pids.max and cpu.cfs_quota_us refuse: takes those two out
 * of resources, and says which ones the caller must lift in the cgroup itself.
 */
export function crunUnwritable(resources: OciResources): { pids: boolean; cpuQuota: boolean } {
  const pids = resources.pids?.limit !== undefined && resources.pids.limit < 0;
  const cpuQuota = resources.cpu?.quota !== undefined && resources.cpu.quota < 0;
  if (pids) delete resources.pids;
  if (cpuQuota) {
    delete resources.cpu!.quota;
    delete resources.cpu!.period;
  }
  return { pids, cpuQuota };
}
