// Keeping overlay guests' merged trees mounted: before start and exec, after a reboot (mount --all).
import { checkName } from '../guest/name.js';
import type { GuestConfig } from '../guest/schema.js';
import type { GuestSummary } from '../guest/guest-index.js';
import { ensureOverlay, isOverlayMounted, unmountOverlay, type OverlayDirs } from '../storage/overlay.js';
import { readMounts, type MountEntry } from '../util/mounts.js';
import { withLock } from '../util/lock.js';
import type { Deps } from './deps.js';
import { guestTree, templateTree } from './trees.js';

export function overlayDirs(deps: Deps, name: string, template: string): OverlayDirs {
  return {
    lower: deps.paths.templateRootfs(template),
    upper: deps.paths.upper(name),
    work: deps.paths.work(name),
    merged: deps.paths.rootfs(name),
  };
}

/** Mounts an overlay guest's tree if it is not; nothing for a dir guest. Returns whether it mounted. */
export async function ensureMounted(deps: Deps, name: string, cfg: GuestConfig): Promise<boolean> {
  if (cfg.backend !== 'overlay' || cfg.template === undefined) return false;
  deps.templates.read(cfg.template); // a clear error if the template is gone
  const dirs = overlayDirs(deps, name, cfg.template);
  templateTree(deps, cfg.template);
  for (const part of ['upper', 'work', 'rootfs'] as const) guestTree(deps, name, part);
  return ensureOverlay(dirs);
}

export interface MountReport {
  name: string;
  mounted: boolean;
  error?: string;
}

/** Mounts the given overlay guests (all when names is empty); one failure does not stop the others. */
export async function mountGuests(deps: Deps, names: string[]): Promise<MountReport[]> {
  const all = names.length === 0;
  const wanted = all ? deps.store.names() : names.map((n) => checkName(n));
  const out: MountReport[] = [];
  for (const name of wanted) {
    try {
      const cfg = deps.store.read(name);
      if (cfg.backend !== 'overlay') {
        if (!all) out.push({ name, mounted: false, error: 'a dir guest has nothing to mount' });
        continue;
      }
      const did = await withLock(deps.paths.lock(name), `vserver mount ${name}`, () => ensureMounted(deps, name, cfg));
      out.push({ name, mounted: did });
    } catch (e) {
      out.push({ name, mounted: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

export async function unmountGuest(deps: Deps, name: string): Promise<void> {
  await unmountOverlay(deps.paths.rootfs(name));
}

export function isMounted(deps: Deps, name: string): boolean {
  return isOverlayMounted(deps.paths.rootfs(name), readMounts());
}

/** Whether an overlay guest's tree is mounted (nothing for a dir guest, whose tree is always there). */
export function treeState(deps: Deps, name: string, cfg: GuestSummary, mounts?: readonly MountEntry[]): { mounted?: boolean } {
  return cfg.backend === 'overlay' ? { mounted: isOverlayMounted(deps.paths.rootfs(name), mounts) } : {};
}
