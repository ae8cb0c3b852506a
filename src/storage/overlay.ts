// The overlay backend: a read-only template below, the guest's own upper directory above, merged
// at the guest's rootfs path for as long as the guest exists.
import { VsError } from '../util/errors.js';
import { runOk } from '../util/proc.js';
import { isMountPoint, readMounts, unmount, type MountEntry } from '../util/mounts.js';

export interface OverlayDirs {
  lower: string;
  upper: string;
  work: string;
  merged: string;
}

/** The mount options (pure); overlayfs splits them at ',' and ':', so paths holding those are refused. */
export function overlayOptions(d: OverlayDirs): string {
  for (const p of [d.lower, d.upper, d.work]) {
    if (/[,:\\\n]/.test(p)) {
      throw new VsError(
        'INVALID_VALUE',
        `path ${JSON.stringify(p)} contains ',', ':' or '\\', which overlay mounts cannot take`,
        'use a root prefix (--root) without those characters',
      );
    }
  }
  return `lowerdir=${d.lower},upperdir=${d.upper},workdir=${d.work}`;
}

export function isOverlayMounted(merged: string, mounts: readonly MountEntry[] = readMounts()): boolean {
  return isMountPoint(merged, mounts);
}

export async function mountOverlay(d: OverlayDirs): Promise<void> {
  try {
    await runOk('mount', ['-t', 'overlay', 'overlay', '-o', overlayOptions(d), d.merged]);
  } catch (e) {
    if (e instanceof VsError && e.code !== 'INTERNAL') throw e;
    throw new VsError(
      'RUNTIME_FAILED',
      `cannot mount the overlay at ${d.merged}: ${e instanceof Error ? e.message : String(e)}`,
      'check that the template and the upper directory exist and that the kernel has overlayfs',
      { cause: e },
    );
  }
}

/** Mounts the overlay unless it already is: after a reboot, or when something unmounted it. */
export async function ensureOverlay(d: OverlayDirs): Promise<boolean> {
  if (isOverlayMounted(d.merged)) return false;
  await mountOverlay(d);
  return true;
}

export async function unmountOverlay(merged: string): Promise<void> {
  if (isOverlayMounted(merged)) await unmount(merged);
}
