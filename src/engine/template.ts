// Templates: read-only trees that overlay guests share, made once from debootstrap, a tarball or a guest.
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { checkName } from '../guest/name.js';
import type { InitStyle, TemplateMeta } from '../guest/schema.js';
import { BUILTIN_TEMPLATES } from '../guest/template-store.js';
import { contextRange } from '../guest/idmap.js';
import type { Progress } from '../util/progress.js';
import { removeTree } from '../storage/remove.js';
import { readFileIn, writeFileIn } from '../storage/safe-tree.js';
import { fsyncDir } from '../util/atomic.js';
import { VsError } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import { uniqueSuffix } from '../util/unique.js';
import type { Deps } from './deps.js';
import { ensureMounted } from './mount.js';
import { buildFailed, reserve } from './reserve.js';
import { checkNotReowning } from './reown.js';
import { fromDebootstrap, fromTarball, fromTree, type DebootstrapSource } from './sources.js';
import { registry } from './ranges.js';
import { guestIds, isActive } from './state.js';
import { sealTreeDir } from './tree-access.js';
import { guestTree } from './trees.js';

export type TemplateSource =
  | ({ kind: 'debootstrap' } & DebootstrapSource)
  | { kind: 'tarball'; file: string }
  | { kind: 'guest'; guest: string };

export interface TemplateInfo {
  name: string;
  builtin?: boolean;
  context?: number;
  source?: string;
  from?: string;
  init?: string;
  created?: string;
  /** Overlay guests that share it. */
  guests: string[];
  idmap?: { base: number; size: number };
}

function checkTemplateName(name: string): void {
  checkName(name, 'template');
  if ((BUILTIN_TEMPLATES as readonly string[]).includes(name)) {
    throw new VsError('ALREADY_EXISTS', `'${name}' is a built-in template`, 'choose another name');
  }
}

export function createTemplate(
  deps: Deps,
  name: string,
  source: TemplateSource,
  opts: { init?: InitStyle; onProgress?: (p: Progress) => void } = {},
): Promise<TemplateInfo> {
  checkTemplateName(name);
  return withLock(deps.paths.templateLock(name), `vserver template create ${name}`, async () => {
    if (deps.templates.exists(name)) {
      throw new VsError(
        'ALREADY_EXISTS',
        `template '${name}' already exists`,
        `choose another name, or delete it with 'vserver template delete ${name}'`,
      );
    }
    if (source.kind === 'guest') {
      const g = checkName(source.guest);
      return withLock(deps.paths.lock(g), `vserver template create ${name}`, () => createLocked(deps, name, source, opts));
    }
    return createLocked(deps, name, source, opts);
  });
}

async function createLocked(
  deps: Deps,
  name: string,
  source: TemplateSource,
  opts: { init?: InitStyle; onProgress?: (p: Progress) => void },
): Promise<TemplateInfo> {
  let init: InitStyle = opts.init ?? 'plain';
  let from: string;
  const guestCfg = source.kind === 'guest' ? deps.store.read(source.guest) : undefined;
  if (source.kind === 'guest') {
    checkNotReowning(deps, source.guest);
    if (isActive(await (await deps.runtime()).state(source.guest))) {
      throw new VsError(
        'ALREADY_RUNNING',
        `guest '${source.guest}' is running; a template is made from a stopped guest`,
        `stop it first with 'vserver stop ${source.guest}'`,
      );
    }
    await ensureMounted(deps, source.guest, guestCfg!);
  }
  const { context, tmp } = await reserve(deps, 'template', name);
  const ids = contextRange(context);
  const rootfs = join(tmp, 'rootfs');
  try {
    switch (source.kind) {
      case 'debootstrap':
        // both inits, so that guests of either style can share the template
        await fromDebootstrap(deps.paths, deps.host(), source, rootfs, ids, ['sysv', 'systemd'], opts.onProgress);
        from = source.suite;
        init = opts.init ?? 'sysv';
        break;
      case 'tarball':
        mkdirSync(rootfs, { mode: 0o755 });
        await fromTarball(source.file, rootfs, ids);
        from = source.file;
        break;
      case 'guest':
        await fromTree(guestTree(deps, source.guest), rootfs, guestIds(deps, guestCfg!), ids);
        // guests made from it get machine ids of their own
        if ((readFileIn(rootfs, 'etc/machine-id') ?? '') !== '')
          writeFileIn(rootfs, 'etc/machine-id', '', 0o444, { uid: ids.base, gid: ids.base });
        from = source.guest;
        init = opts.init ?? guestCfg!.init;
        break;
    }
    const meta: TemplateMeta = { context, source: source.kind, from, init, created: new Date().toISOString() };
    deps.templates.writeInto(join(tmp, 'template.toml'), meta);
    sealTreeDir(tmp, ids);
    renameSync(tmp, deps.paths.template(name));
    fsyncDir(deps.paths.templatesDir);
    return info(name, meta, []);
  } catch (e) {
    return buildFailed(tmp, `making template '${name}'`, e);
  }
}

function info(name: string, meta: TemplateMeta, guests: string[]): TemplateInfo {
  return {
    name,
    context: meta.context,
    source: meta.source,
    from: meta.from,
    init: meta.init,
    created: meta.created,
    guests,
    idmap: contextRange(meta.context),
  };
}

/** Overlay guests of each template; a guest whose config cannot be read might be one, so it is named too. */
function users(deps: Deps): { by: Map<string, string[]>; unreadable: string[] } {
  const by = new Map<string, string[]>();
  const unreadable: string[] = [];
  for (const g of deps.store.readAll()) {
    if (!g.config) unreadable.push(g.name);
    else if (g.config.backend === 'overlay' && g.config.template) by.set(g.config.template, [...(by.get(g.config.template) ?? []), g.name]);
  }
  return { by, unreadable };
}

export function listTemplates(deps: Deps): TemplateInfo[] {
  const { by } = users(deps);
  const out: TemplateInfo[] = BUILTIN_TEMPLATES.map((n) => ({ name: n, builtin: true, source: 'built in', init: 'plain', guests: [] }));
  for (const n of deps.templates.names()) out.push(info(n, deps.templates.read(n), by.get(n) ?? []));
  return out;
}

export function deleteTemplate(deps: Deps, name: string): Promise<void> {
  checkTemplateName(name);
  return withLock(deps.paths.templateLock(name), `vserver template delete ${name}`, async () => {
    const meta = deps.templates.read(name);
    const { by, unreadable } = users(deps);
    const using = by.get(name) ?? [];
    if (using.length > 0) {
      throw new VsError(
        'IN_USE',
        `template '${name}' is used by ${using.length === 1 ? 'guest' : 'guests'} ${using.join(', ')}`,
        'delete those guests first (their trees are overlays on this template)',
      );
    }
    if (unreadable.length > 0) {
      throw new VsError(
        'IN_USE',
        `cannot tell whether guests ${unreadable.join(', ')} use template '${name}': their configs are broken`,
        'fix or delete those guests first',
      );
    }
    const trash = join(deps.paths.templatesDir, `.delete-${name}-${uniqueSuffix()}`);
    renameSync(deps.paths.template(name), trash);
    registry(deps).release(meta.context);
    await removeTree(trash);
  });
}
