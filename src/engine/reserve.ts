// Context numbers for new guests and templates, and the build directories that hold them while
// building. A build directory whose builder died is removed (with anything left mounted in it).
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { allocateContext, checkContextFree } from '../guest/context.js';
import { removeTree } from '../storage/remove.js';
import { VsError } from '../util/errors.js';
import { unmountUnder } from '../util/mounts.js';
import { readdirIfExists } from '../util/fs.js';
import { lockHeld, withLock } from '../util/lock.js';
import type { Deps } from './deps.js';
import { reownTarget } from './reown.js';

/** .build-NAME-CONTEXT: a tree being made; .delete-NAME-...: a tree being removed. */
const BUILD_DIR = /^\.build-([a-z0-9][a-z0-9-]{0,62})-(\d+)$/;
const DELETE_DIR = /^\.delete-([a-z0-9][a-z0-9-]{0,62})-/;

export type Kind = 'guest' | 'template';

function dirOf(deps: Deps, kind: Kind): string {
  return kind === 'guest' ? deps.paths.guestsDir : deps.paths.templatesDir;
}

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
  throw new VsError('BUILD_FAILED', `${what} failed: ${e instanceof Error ? e.message : String(e)}`,
    'nothing was kept; fix the cause and try again', { cause: e });
}

/** Every context in use: by guests, templates, and builds in progress; stale builds are cleared. */
async function usedContexts(deps: Deps, self?: { kind: Kind; name: string }): Promise<Map<number, string>> {
  const used = new Map<number, string>();
  for (const g of deps.store.readAll()) {
    if (g.config) used.set(g.config.context, g.name);
    // a guest whose move to another context was interrupted keeps that context too
    const target = reownTarget(deps, g.name);
    if (target !== undefined) used.set(target, g.name);
  }
  for (const t of deps.templates.names()) {
    try {
      used.set(deps.templates.read(t).context, `template ${t}`);
    } catch { /* a broken template file: its number stays unknown, as with a broken guest config */ }
  }
  for (const kind of ['guest', 'template'] as const) {
    const dir = dirOf(deps, kind);
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch { /* not made yet */ }
    for (const entry of entries) {
      const m = BUILD_DIR.exec(entry);
      const d = DELETE_DIR.exec(entry);
      // we hold our own name's lock: a build directory of that name is what a dead build left
      const mine = m !== null && self?.kind === kind && self.name === m[1];
      const owner = m && (kind === 'guest' ? m[1]! : `template ${m[1]}`);
      if (m && !mine && lockHeld(lockOf(deps, kind, m[1]!))) used.set(Number(m[2]), owner!);
      else if (m || (d && !lockHeld(lockOf(deps, kind, d[1]!)))) {
        try {
          await removeLeftover(join(dir, entry));
        } catch {
          // one leftover that cannot go must not stop unrelated builds; gc names it
          if (m && !mine) used.set(Number(m[2]), owner!);
        }
      }
    }
  }
  return used;
}

/** Picks the context and creates the build directory that holds it, under the installation-wide lock. */
export async function reserve(deps: Deps, kind: Kind, name: string, wanted?: number): Promise<{ context: number; tmp: string }> {
  const dir = dirOf(deps, kind);
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  return withLock(deps.paths.contextsLock, 'allocating a context', async () => {
    const used = await usedContexts(deps, { kind, name });
    let context: number;
    if (wanted !== undefined) {
      checkContextFree(used, wanted);
      context = wanted;
    } else context = allocateContext(new Set(used.keys()), deps.host().context_min);
    const tmp = join(dir, `.build-${name}-${context}`);
    mkdirSync(tmp, { mode: 0o700 });
    return { context, tmp };
  });
}

/** Contexts in use by anything but `except` (a guest changing its own number). */
export async function contextsInUse(deps: Deps, except: string): Promise<Map<number, string>> {
  const used = await usedContexts(deps);
  for (const [k, v] of used) if (v === except) used.delete(k);
  return used;
}

/** What interrupted deletes left (guests' and templates'), removed unless their delete still runs. */
export async function sweepDeleted(deps: Deps): Promise<{ removed: string[]; problems: string[] }> {
  const removed: string[] = [];
  const problems: string[] = [];
  for (const kind of ['guest', 'template'] as const) {
    const dir = dirOf(deps, kind);
    for (const entry of readdirIfExists(dir)) {
      const d = DELETE_DIR.exec(entry);
      if (!d || lockHeld(lockOf(deps, kind, d[1]!))) continue;
      try {
        await removeLeftover(join(dir, entry));
        removed.push(`${kind === 'guest' ? 'guests' : 'templates'}/${entry} (an interrupted delete)`);
      } catch (e) {
        problems.push(e instanceof Error ? e.message : String(e));
      }
    }
  }
  return { removed, problems };
}
