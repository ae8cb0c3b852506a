// Context numbers for new guests and templates, and the build directories that hold them while
// building. A build directory whose builder died is removed (with anything left mounted in it).
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { removeTree } from '../storage/remove.js';
import { join } from 'node:path';
import { allocateContext, checkContextFree } from '../guest/context.js';
import { fsyncDir } from '../util/atomic.js';
import { crashPoint } from '../util/crash.js';
import { VsError } from '../util/errors.js';
import { unmountUnder } from '../util/mounts.js';
import { lockHeld, withLock } from '../util/lock.js';
import { BUILD_DIR, DELETE_DIR, dirOf, entriesOf, recordedContexts, type Kind } from './contexts.js';
import type { Deps } from './deps.js';
import { checkRangeFree, claimRange, registry } from './ranges.js';

export type { Kind } from './contexts.js';

/** Inside a guest's directory from reservation until its config is written: an unfinished build. */
const UNFINISHED = '.building';

function lockOf(deps: Deps, kind: Kind, name: string): string {
  return kind === 'guest' ? deps.paths.lock(name) : deps.paths.templateLock(name);
}

/** Removes a directory that a build or delete left, unmounting what is mounted in it first. */
export async function removeLeftover(dir: string): Promise<void> {
  await unmountUnder(dir, { lazy: true });
  await removeTree(dir);
}

/** A build that failed: its temporary directory goes, and the error says that nothing was kept. */
export async function buildFailed(tmp: string, what: string, e: unknown): Promise<never> {
  await removeLeftover(tmp);
  if (e instanceof VsError) throw e;
  throw new VsError(
    'BUILD_FAILED',
    `${what} failed: ${e instanceof Error ? e.message : String(e)}`,
    'nothing was kept; fix the cause and try again',
    { cause: e },
  );
}

/** A guest tree moved into place by a build that died before writing the config. */
function unfinished(deps: Deps, name: string): boolean {
  return existsSync(join(deps.paths.guestDir(name), UNFINISHED)) && !deps.store.exists(name);
}

export interface Leftover {
  kind: Kind;
  /** The guest or template it was for. */
  name: string;
  /** The directory entry, and what it is in words. */
  entry: string;
  what: string;
  dir: string;
}

/** What killed builds and deletes left in the guest and template directories, whose owners are dead. */
export function leftovers(deps: Deps, self?: { kind: Kind; name: string }): Leftover[] {
  const out: Leftover[] = [];
  for (const kind of ['guest', 'template'] as const) {
    const dir = dirOf(deps, kind);
    for (const entry of entriesOf(deps, kind)) {
      const build = BUILD_DIR.exec(entry);
      const del = DELETE_DIR.exec(entry);
      const name = (build ?? del)?.[1] ?? entry;
      if (!build && !del && !(kind === 'guest' && unfinished(deps, entry))) continue;
      // we hold our own name's lock: what a build of that name left is a dead build's
      const mine = self?.kind === kind && self.name === name;
      if (!mine && lockHeld(lockOf(deps, kind, name))) continue;
      const what = build ? 'build directory' : del ? 'half-deleted tree' : 'unfinished build (a tree without config)';
      out.push({ kind, name, entry, what, dir: join(dir, entry) });
    }
  }
  return out;
}

/** Every context in use: by guests, templates, and builds in progress; stale builds are cleared. */
async function usedContexts(deps: Deps, self?: { kind: Kind; name: string }): Promise<Map<number, string>> {
  const gone = new Set<string>();
  for (const l of leftovers(deps, self)) {
    try {
      await removeLeftover(l.dir);
      gone.add(`${l.kind}/${l.entry}`);
    } catch {
      /* one leftover that cannot go must not stop unrelated builds; it keeps its number, and gc names it */
    }
  }
  return recordedContexts(deps, gone);
}

/**
 * Removes what dead builds and deletes left (for gc). A build killed after writing its config
 * made a whole guest: only its mark goes.
 */
export function sweepLeftovers(deps: Deps): Promise<{ trees: Leftover[]; marks: string[] }> {
  return withLock(deps.paths.contextsLock, 'vserver gc', async () => {
    const dead = leftovers(deps);
    for (const l of dead) await removeLeftover(l.dir);
    const marks = deps.store.names().filter((n) => existsSync(join(deps.paths.guestDir(n), UNFINISHED)) && !lockHeld(deps.paths.lock(n)));
    for (const n of marks) rmSync(join(deps.paths.guestDir(n), UNFINISHED), { force: true });
    return { trees: dead, marks };
  });
}

export interface Reservation {
  context: number;
  tmp: string;
}

/**
 * Picks the context and creates the build directory that holds it, under the installation-wide
 * lock. `wanted` is required unless `prefer` is set, in which case a taken number gets a free one.
 */
export async function reserve(deps: Deps, kind: Kind, name: string, wanted?: number, { prefer = false } = {}): Promise<Reservation> {
  const dir = dirOf(deps, kind);
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  return withLock(deps.paths.contextsLock, 'allocating a context', async () => {
    const used = await usedContexts(deps, { kind, name });
    const context = await claimRange(deps, used, (elsewhere) => {
      if (wanted !== undefined && !(prefer && (used.has(wanted) || elsewhere.has(wanted)))) {
        checkContextFree(used, wanted);
        checkRangeFree(elsewhere, wanted);
        return wanted;
      }
      return allocateContext(new Set([...used.keys(), ...elsewhere.keys()]), deps.host().context_min);
    });
    const tmp = join(dir, `.build-${name}-${context}`);
    mkdirSync(tmp, { mode: 0o700 });
    if (kind === 'guest') closeSync(openSync(join(tmp, UNFINISHED), 'wx', 0o600));
    return { context, tmp };
  });
}

/**
 * Moves a built guest tree into place and runs `complete` (which writes the config), under the
 * lock that reservations take: no reservation ever sees the tree without its config. A complete
 * that fails takes the tree away again; a crash in between leaves an unfinished tree that the
 * next reservation or gc removes.
 */
export function placeGuest(deps: Deps, name: string, tmp: string, complete: () => Promise<void> | void): Promise<void> {
  const dir = deps.paths.guestDir(name);
  return withLock(deps.paths.contextsLock, `placing guest ${name}`, async () => {
    renameSync(tmp, dir);
    fsyncDir(deps.paths.guestsDir);
    crashPoint('place:moved');
    try {
      await complete();
    } catch (e) {
      await removeLeftover(dir);
      throw e;
    }
    crashPoint('place:written');
    unlinkSync(join(dir, UNFINISHED));
  });
}

/** Removes what a dead build of this guest name left; the caller holds the name's lock. */
export async function clearUnfinished(deps: Deps, name: string): Promise<void> {
  if (unfinished(deps, name)) await removeLeftover(deps.paths.guestDir(name));
}

/**
 * Moves a guest from one context to another: `fn` (which re-owns the tree and writes the config)
 * runs once the new number is free here and its host ids are free on the host; the old range is
 * given back after.
 */
export function changeContext<T>(deps: Deps, name: string, from: number, to: number, fn: () => Promise<T> | T): Promise<T> {
  return withLock(deps.paths.contextsLock, 'changing a context', async () => {
    const used = await usedContexts(deps);
    for (const [k, v] of used) if (v === name) used.delete(k);
    await claimRange(deps, used, (elsewhere) => {
      checkContextFree(used, to);
      checkRangeFree(elsewhere, to);
      return to;
    });
    const out = await fn();
    if (from !== to) registry(deps).release(from);
    return out;
  });
}
