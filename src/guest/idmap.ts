// User namespaces: guest root is an unprivileged host id, 65536 ids from context * 65536.
import type { OciIdMapping } from '../oci/types.js';

export const IDS_PER_GUEST = 65536;

export interface IdRange {
  /** First host id; guest id 0 maps to it. */
  base: number;
  size: number;
}

export function contextRange(context: number): IdRange {
  return { base: context * IDS_PER_GUEST, size: IDS_PER_GUEST };
}

/** The ids a guest's files are owned by on the host: its range, or host ids for a privileged guest. */
export function ownerRange(context: number, privileged: boolean): IdRange {
  return privileged ? { base: 0, size: IDS_PER_GUEST } : contextRange(context);
}

export function idMappings(r: IdRange): OciIdMapping[] {
  return [{ containerID: 0, hostID: r.base, size: r.size }];
}
