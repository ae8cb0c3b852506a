// rlimits in the words of the OCI spec and of prlimit, shared by the runtime driver, exec and the live limit change.
import type { OciRlimit } from './types.js';

/** prlimit's option name of an rlimit: RLIMIT_NOFILE is --nofile. */
export const rlimitOption = (r: Pick<OciRlimit, 'type'>): string => r.type.slice('RLIMIT_'.length).toLowerCase();

/** rlimits read back from a config.json, where unlimited is written as the kernel's RLIM_INFINITY. */
export function rlimitsFromJson(raw: unknown): OciRlimit[] {
  if (!Array.isArray(raw)) return [];
  const num = (v: unknown) => (typeof v === 'number' ? (v >= 2 ** 63 ? Infinity : v) : NaN);
  return raw.flatMap((r: { type?: unknown; soft?: unknown; hard?: unknown }) => {
    const soft = num(r?.soft);
    const hard = num(r?.hard);
    return typeof r?.type === 'string' && !Number.isNaN(soft) && !Number.isNaN(hard) ? [{ type: r.type, soft, hard }] : [];
  });
}
