// A guest's snapshots on disk: snapshots/NAME/SNAP/{tree/, snapshot.json}. A snapshot is made in
// snapshots/NAME/.new-SNAP-* and renamed into place when whole; one being removed is first renamed
// to .delete-*, so a name either holds a whole snapshot or nothing.
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { checkName } from '../guest/name.js';
import { removeTree } from '../storage/remove.js';
import { writeFileAtomic } from '../util/atomic.js';
import { errnoOf, VsError } from '../util/errors.js';
import { readdirIfExists } from '../util/fs.js';
import { uniqueSuffix } from '../util/unique.js';
import type { Deps } from './deps.js';

export const SNAP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Entries of snapshots/NAME that are not snapshots: one being made, one being removed. */
export const NEW_SNAP = /^\.new-/;
export const DELETE_SNAP = /^\.delete-/;

const MetaSchema = v.object({
  guest: v.string(),
  name: v.string(),
  created: v.string(),
  /** reflink: blocks shared with the tree; copy: a full copy; moved: the tree itself, kept by a restore. */
  method: v.picklist(['reflink', 'copy', 'moved']),
  backend: v.picklist(['dir', 'overlay']),
  /** The host id range that owned the files then; a restore shifts them if the guest's range changed. */
  ids: v.object({ base: v.number(), size: v.number() }),
  /** Whether the guest ran, and so was frozen while its tree was copied. */
  frozen: v.boolean(),
  frozenMs: v.optional(v.number()),
});

export type SnapshotInfo = v.InferOutput<typeof MetaSchema>;

export function checkSnapName(snap: string): string {
  if (!SNAP_PATTERN.test(snap)) {
    throw new VsError(
      'INVALID_NAME',
      `invalid snapshot name '${snap}'`,
      'a snapshot name is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  }
  return snap;
}

/** The default name: the UTC time, to the second (20261202-031500). */
export function defaultSnapName(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

export function treeOf(dir: string): string {
  return join(dir, 'tree');
}

export function writeMeta(dir: string, meta: SnapshotInfo): void {
  writeFileAtomic(join(dir, 'snapshot.json'), `${JSON.stringify(meta, null, 2)}\n`, 0o600);
}

export function readMeta(deps: Deps, name: string, snap: string): SnapshotInfo {
  checkSnapName(snap);
  const file = join(deps.paths.snapshot(name, snap), 'snapshot.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
    throw new VsError('NOT_FOUND', `guest '${name}' has no snapshot '${snap}'`, `list its snapshots with 'vserver snapshot list ${name}'`);
  }
  let r: v.SafeParseResult<typeof MetaSchema> | undefined;
  try {
    r = v.safeParse(MetaSchema, JSON.parse(text));
  } catch {
    /* not JSON */
  }
  if (!r?.success) {
    throw new VsError('CONFIG_INVALID', `${file} is damaged`, `delete the snapshot with 'vserver snapshot delete ${name} ${snap}'`);
  }
  return r.output;
}

/** Every whole snapshot of the guest, oldest first. */
export function listSnapshots(deps: Deps, name: string): SnapshotInfo[] {
  checkName(name);
  return readdirIfExists(deps.paths.snapshots(name))
    .filter((e) => SNAP_PATTERN.test(e))
    .map((e) => readMeta(deps, name, e))
    .sort((a, b) => a.created.localeCompare(b.created) || a.name.localeCompare(b.name));
}

/** snapshots/NAME, made private to host root: a snapshot keeps the guest's set-id programs and devices. */
export function snapshotsDirOf(deps: Deps, name: string): string {
  mkdirSync(deps.paths.snapshotsDir, { recursive: true, mode: 0o700 });
  const dir = deps.paths.snapshots(name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export function newSnapDir(deps: Deps, name: string, snap: string): string {
  const dir = join(snapshotsDirOf(deps, name), `.new-${snap}-${uniqueSuffix()}`);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

/** Renames the snapshot aside, then removes it. */
export async function removeSnapshotDir(deps: Deps, name: string, snap: string): Promise<void> {
  const dir = deps.paths.snapshot(name, snap);
  const trash = join(deps.paths.snapshots(name), `.delete-${snap}-${uniqueSuffix()}`);
  renameSync(dir, trash);
  await removeTree(trash);
}

/** For delete: the guest's whole snapshot directory is renamed aside; the returned remover takes it away. */
export function detachSnapshots(deps: Deps, name: string): { count: number; remove: () => Promise<void> } {
  const dir = deps.paths.snapshots(name);
  if (!existsSync(dir)) return { count: 0, remove: async () => undefined };
  const count = readdirIfExists(dir).filter((e) => SNAP_PATTERN.test(e)).length;
  const trash = join(deps.paths.snapshotsDir, `.delete-${name}-${uniqueSuffix()}`);
  renameSync(dir, trash);
  return { count, remove: () => removeTree(trash) };
}
