// Keeping this installation's id ranges apart from other installations' and from users' subordinate ids.
import { resolve } from 'node:path';
import { RangeRegistry, subidHolders } from '../security/id-registry.js';
import { contextRange } from '../guest/idmap.js';
import { VsError } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import { recordedContexts } from './contexts.js';
import { makeDeps, type Deps } from './deps.js';

/** Where every installation of the host claims its ranges, unless vserver.toml or the environment says otherwise. */
export const HOST_REGISTRY = '/var/lib/vserver/ranges';

/** The registry; a relative VSERVER_ID_REGISTRY lies under the root prefix (each test root keeps its own). */
export function registry(deps: Deps): RangeRegistry {
  const dir = deps.host().id_registry ?? (process.env.VSERVER_ID_REGISTRY || HOST_REGISTRY);
  return new RangeRegistry(resolve(deps.paths.root, dir), deps.paths.root);
}

/** Contexts whose host ids another holds: an installation that still uses them, or a user in /etc/subuid. */
export function heldElsewhere(deps: Deps, reg: RangeRegistry): Map<number, string> {
  const out = subidHolders(deps.host().subid_files);
  const others = new Map<string, Map<number, string>>();
  for (const [context, root] of reg.claims()) {
    if (root === deps.paths.root) continue;
    let used = others.get(root);
    if (!used) {
      // a claim whose installation no longer uses the number (deleted, or a build that died) is stale
      try {
        used = recordedContexts(makeDeps(root));
      } catch {
        used = new Map();
      }
      others.set(root, used);
    }
    if (used.has(context)) out.set(context, `the installation at ${root}`);
  }
  return out;
}

export function checkRangeFree(elsewhere: ReadonlyMap<number, string>, context: number): void {
  const holder = elsewhere.get(context);
  if (holder === undefined) return;
  const r = contextRange(context);
  throw new VsError(
    'ALREADY_EXISTS',
    `the host ids of context ${context} (${r.base}-${r.base + r.size - 1}) are taken by ${holder}`,
    'choose another context, or leave it out to get a free one',
  );
}

/**
 * Runs pick under the host-wide registry lock with the contexts held elsewhere, and claims what it
 * returns, together with the numbers this installation already uses (so that those of an
 * installation made before the registry existed are claimed on its next build).
 */
export function claimRange(
  deps: Deps,
  used: ReadonlyMap<number, string>,
  pick: (elsewhere: Map<number, string>) => number,
): Promise<number> {
  const reg = registry(deps);
  return withLock(reg.lock, 'claiming a host id range', async () => {
    const elsewhere = heldElsewhere(deps, reg);
    const context = pick(elsewhere);
    for (const c of used.keys()) if (!elsewhere.has(c)) reg.claim(c);
    reg.claim(context);
    return context;
  });
}

/**
 * Before a guest runs with the ids of `context`: this installation must hold them. Two
 * installations made before the registry may both have used a number; the first to start
 * claims it, and the other is refused rather than run as the same host ids.
 */
export async function holdRange(deps: Deps, context: number): Promise<void> {
  const reg = registry(deps);
  if (reg.holder(context) === deps.paths.root) return;
  await withLock(reg.lock, 'claiming a host id range', async () => {
    checkRangeFree(heldElsewhere(deps, reg), context);
    reg.claim(context);
  });
}
