// A full filesystem is a condition of the host, not a bug: it gets an error of its own that names
// the filesystem, so that the administrator knows where to free space.
import { errnoOf, VsError } from './errors.js';
import { readMounts } from './mounts.js';

const FULL = ['ENOSPC', 'EDQUOT'];
/** Kernel interfaces answer ENOSPC for other reasons (a cpuset without memory nodes, say). */
const NOT_A_DISK = /^\/(sys|proc)\//;

function causes(e: unknown): unknown[] {
  const out: unknown[] = [];
  for (let x = e; x !== undefined && x !== null && out.length < 8; x = (x as { cause?: unknown }).cause) out.push(x);
  return out;
}

function pathOf(e: unknown): string | undefined {
  const p = (e as { path?: unknown }).path;
  return typeof p === 'string' ? p : undefined;
}

/** True if e (or what caused it) is a write that failed for lack of space on a disk. */
export function isNoSpace(e: unknown): boolean {
  return causes(e).some(
    (x) => (x instanceof VsError && x.code === 'NO_SPACE') || (FULL.includes(errnoOf(x) ?? '') && !NOT_A_DISK.test(pathOf(x) ?? '')),
  );
}

/** The mount that holds path, as "MOUNTPOINT (TYPE on SOURCE)". */
export function filesystemOf(path: string): string {
  let best: { mountPoint: string; fsType: string; source: string } | undefined;
  for (const m of readMounts()) {
    const inside = path === m.mountPoint || path.startsWith(m.mountPoint === '/' ? '/' : `${m.mountPoint}/`);
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best ? `${best.mountPoint} (${best.fsType} on ${best.source})` : path;
}

/**
 * The NO_SPACE error for a failure that isNoSpace: it names the filesystem of the file being
 * written (or of `where` when the failure does not say) and what was being done.
 */
export function noSpaceError(e: unknown, where: string, doing?: string): VsError {
  const known = causes(e).find((x) => x instanceof VsError && x.code === 'NO_SPACE');
  if (known) return known as VsError;
  const path =
    causes(e)
      .map(pathOf)
      .find((p) => p !== undefined) ?? where;
  return new VsError(
    'NO_SPACE',
    `no space left on ${filesystemOf(path)} while ${doing ?? `writing ${path}`}`,
    "free space there (delete a guest you no longer need, or run 'vserver gc'), then try again; " +
      'stop, delete, status, list and gc work on a full disk',
    { cause: e },
  );
}
