// Moving a guest's tree to another id range (config context or privileged) so that a crash at
// any point can be finished: the move is recorded beside the tree before the first file changes,
// the config follows the files, and the record goes last. Until then start refuses the guest.
import { rmSync } from 'node:fs';
import * as v from 'valibot';
import { shiftOwnership } from '../storage/shift.js';
import { fsyncDir, writeFileAtomic } from '../util/atomic.js';
import { VsError } from '../util/errors.js';
import { readIfExists } from '../util/fs.js';
import { withLock } from '../util/lock.js';
import type { Deps } from './deps.js';
import { isActive } from './state.js';
import { sealGuestDir } from './tree-access.js';

const RangeSchema = v.object({ base: v.number(), size: v.number() });
const JournalSchema = v.object({
  key: v.picklist(['context', 'privileged']),
  value: v.union([v.number(), v.boolean()]),
  from: RangeSchema,
  to: RangeSchema,
  started: v.string(),
});
export type Reown = v.InferOutput<typeof JournalSchema>;

/** The unfinished move of a guest's tree, if there is one. */
export function pendingReown(deps: Deps, name: string): Reown | undefined {
  const text = readIfExists(deps.paths.reownJournal(name));
  if (text === undefined) return undefined;
  let r: v.SafeParseResult<typeof JournalSchema> | undefined;
  try {
    r = v.safeParse(JournalSchema, JSON.parse(text));
  } catch {
    /* not JSON: damaged as well */
  }
  if (!r?.success) {
    throw new VsError(
      'CONFIG_INVALID',
      `${deps.paths.reownJournal(name)} is damaged`,
      `remove it and run the change again ('vserver config ${name} context N' with the number you wanted): files already moved stay`,
    );
  }
  return r.output;
}

function describe(j: Reown): string {
  return j.key === 'context' ? `context ${j.value}` : `privileged = ${j.value}`;
}

/** Start, clone, export and templates refuse a tree whose files are split between two ranges. */
export function checkNotReowning(deps: Deps, name: string): void {
  const j = pendingReown(deps, name);
  if (j === undefined) return;
  throw new VsError(
    'REOWN_UNFINISHED',
    `guest '${name}' is half re-owned: changing it to ${describe(j)} was interrupted, ` +
      `so its files are split between host ids ${j.from.base}.. and ${j.to.base}..`,
    `finish the change with 'vserver gc' or 'vserver config ${name} ${j.key} ${j.value}'`,
  );
}

/** Records the move, moves the tree, then sets the key in the config and drops the record. */
export function reown(deps: Deps, name: string, j: Reown): number {
  writeFileAtomic(deps.paths.reownJournal(name), JSON.stringify(j), 0o600);
  return finishReown(deps, name, j);
}

/** Also after a crash: ranges never overlap, so moving again only touches what is left in `from`. */
export function finishReown(deps: Deps, name: string, j: Reown): number {
  const moved = shiftOwnership(deps.paths.rootfs(name), j.from, j.to);
  const edit = deps.store.prepareEdit(name, { paths: [[[j.key], j.value]] });
  edit.write();
  // the guest's directory lets its root id through: the new one, now
  sealGuestDir(deps, name, edit.config);
  rmSync(deps.paths.reownJournal(name), { force: true });
  fsyncDir(deps.paths.guestDir(name));
  return moved;
}

/** Where a pending move is headed: its context counts as taken until it is finished. */
export function reownTarget(deps: Deps, name: string): number | undefined {
  try {
    const j = pendingReown(deps, name);
    return j?.key === 'context' && typeof j.value === 'number' ? j.value : undefined;
  } catch {
    return undefined;
  }
}

/** Finishes a move a crash interrupted (the caller holds the guest's lock); what it finished, if anything. */
export async function finishPending(deps: Deps, name: string): Promise<{ journal: Reown; moved: number } | undefined> {
  const journal = pendingReown(deps, name);
  if (journal === undefined) return undefined;
  if (isActive(await (await deps.runtime()).state(name))) {
    throw new VsError(
      'ALREADY_RUNNING',
      `guest '${name}' runs on a half re-owned tree`,
      `stop it with 'vserver stop ${name}', then run 'vserver gc' to finish the change`,
    );
  }
  const finish = () => finishReown(deps, name, journal);
  const moved = journal.key === 'context' ? await withLock(deps.paths.contextsLock, 'changing a context', async () => finish()) : finish();
  return { journal, moved };
}
