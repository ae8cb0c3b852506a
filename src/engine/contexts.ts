// The context numbers an installation uses: its guests, its templates, and its builds in progress.
import { readdirSync } from 'node:fs';
import type { Deps } from './deps.js';
import { reownTarget } from './reown.js';

/** .build-NAME-CONTEXT: a tree being made; .delete-NAME-...: a tree being removed. */
export const BUILD_DIR = /^\.build-([a-z0-9][a-z0-9-]{0,62})-(\d+)$/;
export const DELETE_DIR = /^\.delete-([a-z0-9][a-z0-9-]{0,62})-/;

export type Kind = 'guest' | 'template';

export function dirOf(deps: Deps, kind: Kind): string {
  return kind === 'guest' ? deps.paths.guestsDir : deps.paths.templatesDir;
}

export function entriesOf(deps: Deps, kind: Kind): string[] {
  try {
    return readdirSync(dirOf(deps, kind));
  } catch {
    return []; // not made yet
  }
}

/** Context -> who uses it; every build directory counts, whether its builder lives or not. */
export function recordedContexts(deps: Deps, skipDirs: ReadonlySet<string> = new Set()): Map<number, string> {
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
    } catch {
      /* a broken template file: its number stays unknown, as with a broken guest config */
    }
  }
  for (const kind of ['guest', 'template'] as const) {
    for (const entry of entriesOf(deps, kind)) {
      const m = BUILD_DIR.exec(entry);
      if (m && !skipDirs.has(`${kind}/${entry}`)) used.set(Number(m[2]), kind === 'guest' ? m[1]! : `template ${m[1]}`);
    }
  }
  return used;
}
