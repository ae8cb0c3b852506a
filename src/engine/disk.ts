// Disk use per guest (du) and sharing identical files between guests (unify).
import { checkName } from '../guest/name.js';
import type { GuestConfig } from '../guest/schema.js';
import { checkReflinkFs, collect, dedupe, freeBytes, identicalGroups } from '../storage/dedupe.js';
import { treeUsage, type Usage } from '../storage/du.js';
import { readMounts } from '../util/mounts.js';
import type { Deps } from './deps.js';
import { treeState } from './mount.js';
import { SNAP_PATTERN } from './snapshot-store.js';
import { readdirIfExists } from '../util/fs.js';

export interface DiskUsage {
  name: string;
  backend: string;
  /** The guest's own files: what deleting it frees. */
  bytes: number;
  inodes: number;
  /** The template an overlay guest shares, and its size (counted once in a total). */
  template?: string;
  sharedBytes?: number;
  sharedInodes?: number;
  /** An overlay guest's merged tree; its own files are counted in upper/ either way. */
  mounted?: boolean;
  /** The guest's snapshots, apart from its own files (blocks shared by reflink count in each). */
  snapshots: number;
  snapshotBytes: number;
  snapshotInodes: number;
}

/** The trees that are a guest's own: the whole tree of a dir guest, upper and work of an overlay guest. */
function ownTrees(deps: Deps, name: string, cfg: GuestConfig): string[] {
  return cfg.backend === 'overlay' ? [deps.paths.upper(name), deps.paths.work(name)] : [deps.paths.rootfs(name)];
}

export function diskUsage(deps: Deps, names: string[]): DiskUsage[] {
  const wanted = names.length > 0 ? names.map((n) => checkName(n)) : deps.store.names();
  const templates = new Map<string, Usage>();
  const mounts = readMounts();
  return wanted.map((name) => {
    const cfg = deps.store.read(name);
    const own = { bytes: 0, inodes: 0 };
    const seen = new Set<string>();
    for (const t of ownTrees(deps, name, cfg)) {
      const u = treeUsage(t, seen);
      own.bytes += u.bytes;
      own.inodes += u.inodes;
    }
    const row: DiskUsage = { name, backend: cfg.backend, ...own, ...treeState(deps, name, cfg, mounts), ...snapshotUsage(deps, name) };
    if (cfg.backend === 'overlay' && cfg.template) {
      let t = templates.get(cfg.template);
      if (!t) {
        t = treeUsage(deps.paths.templateRootfs(cfg.template));
        templates.set(cfg.template, t);
      }
      Object.assign(row, { template: cfg.template, sharedBytes: t.bytes, sharedInodes: t.inodes });
    }
    return row;
  });
}

function snapshotUsage(deps: Deps, name: string): Pick<DiskUsage, 'snapshots' | 'snapshotBytes' | 'snapshotInodes'> {
  const snaps = readdirIfExists(deps.paths.snapshots(name)).filter((e) => SNAP_PATTERN.test(e));
  const seen = new Set<string>();
  const u = { snapshots: snaps.length, snapshotBytes: 0, snapshotInodes: 0 };
  for (const s of snaps) {
    const t = treeUsage(deps.paths.snapshot(name, s), seen);
    u.snapshotBytes += t.bytes;
    u.snapshotInodes += t.inodes;
  }
  return u;
}

export interface UnifyResult {
  trees: number;
  candidates: number;
  groups: number;
  files: number;
  deduped: number;
  skipped: number;
  /** Free space the filesystem gained. */
  freed: number;
}

export async function unify(deps: Deps, names: string[], opts: { minSize?: number } = {}): Promise<UnifyResult> {
  checkReflinkFs(deps.paths.lib);
  const wanted = names.length > 0 ? names.map((n) => checkName(n)) : deps.store.names();
  const roots: string[] = [];
  for (const name of wanted) roots.push(...ownTrees(deps, name, deps.store.read(name)).filter((t) => !t.endsWith('/work')));
  if (names.length === 0) for (const t of deps.templates.names()) roots.push(deps.paths.templateRootfs(t));
  const before = freeBytes(deps.paths.lib);
  const files = collect(roots, opts.minSize ?? 4096);
  const groups = identicalGroups(files);
  const r = await dedupe(groups);
  return {
    trees: roots.length,
    candidates: files.length,
    groups: groups.length,
    ...r,
    freed: Math.max(0, freeBytes(deps.paths.lib) - before),
  };
}
