// Building a guest: the tree is made in a temporary directory and moved into place whole; the
// config is written last, so an interrupted build leaves only a directory the next build removes.
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { shownConfig, validate } from '../guest/config.js';
import { checkName } from '../guest/name.js';
import { cloneInterfaces } from '../network/clone.js';
import { CONTEXT_MAX, CONTEXT_MIN, GuestConfigSchema, type GuestConfig, type GuestDocument, type InitStyle } from '../guest/schema.js';
import { BUILTIN_TEMPLATES } from '../guest/template-store.js';
import { contextRange, type IdRange } from '../guest/idmap.js';
import { buildBusybox } from '../storage/busybox.js';
import { copyTree } from '../storage/copy.js';
import { applyIdentity, type GuestIdentity } from '../storage/debian.js';
import { overlayTree, plainTree } from '../storage/tree-io.js';
import { mountOverlay } from '../storage/overlay.js';
import { shiftOwnership } from '../storage/shift.js';
import { crashPoint } from '../util/crash.js';
import { VsError } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import type { Deps } from './deps.js';
import { overlayDirs } from './mount.js';
import { buildFailed, clearUnfinished, placeGuest, reserve } from './reserve.js';
import { checkNotReowning } from './reown.js';
import { fromDebootstrap, fromTarball, fromTree, HOST_IDS, makeOverlayDirs } from './sources.js';
import { guestIds, guestInfo, isActive } from './state.js';
import { sealTreeDir } from './tree-access.js';
import { guestTree, templateTree } from './trees.js';
import type { BuildOptions, BuildSource, GuestInfo } from './types.js';

interface Plan {
  backend: 'dir' | 'overlay';
  init: InitStyle;
  template?: string;
  /** The guest a clone copies: its config, and its file's document (whose words the clone keeps). */
  from?: { name: string; cfg: GuestConfig; doc: GuestDocument };
}

function usage(message: string, hint: string): VsError {
  return new VsError('USAGE', message, hint);
}

function planFor(deps: Deps, source: BuildSource, opts: BuildOptions): Plan {
  const init = (fallback: InitStyle): InitStyle => opts.init ?? (opts.cmd ? 'cmd' : fallback);
  const noOverlay = (what: string) => {
    if (opts.backend === 'overlay') {
      throw usage(
        `an overlay guest needs a stored template; ${what} gives the guest its own copy`,
        "make a template first ('vserver template create'), then build with --template NAME --backend overlay",
      );
    }
  };
  switch (source.kind) {
    case 'template': {
      if ((BUILTIN_TEMPLATES as readonly string[]).includes(source.name)) {
        noOverlay(`the built-in template '${source.name}'`);
        return { backend: 'dir', init: init('plain'), template: source.name };
      }
      const meta = deps.templates.read(source.name);
      const backend = opts.backend ?? (opts.isolated || opts.privileged ? 'dir' : 'overlay');
      if (backend === 'overlay' && opts.isolated) {
        throw usage(
          'an overlay guest shares the id range of its template, so it cannot be --isolated',
          'leave out --backend overlay: an isolated guest gets its own copy of the template (backend dir)',
        );
      }
      if (backend === 'overlay' && opts.privileged) {
        throw usage('an overlay guest cannot be --privileged: it shares the ids of its template', 'build it with --backend dir');
      }
      return { backend, init: init(meta.init), template: source.name };
    }
    case 'debootstrap':
      noOverlay('--debootstrap');
      return { backend: 'dir', init: init('sysv') };
    case 'tarball':
      noOverlay('--tarball');
      return { backend: 'dir', init: init('plain') };
    case 'clone': {
      const { config: cfg, doc } = deps.store.document(checkName(source.guest));
      if (opts.backend !== undefined && opts.backend !== cfg.backend) {
        throw usage(`a clone keeps the backend of '${source.guest}' (${cfg.backend})`, 'leave out --backend');
      }
      if (cfg.backend === 'overlay' && (opts.isolated || opts.privileged)) {
        throw usage(
          `'${source.guest}' is an overlay guest; its clone shares the template's ids too`,
          'leave out --isolated and --privileged',
        );
      }
      return { backend: cfg.backend, init: opts.init ?? cfg.init, template: cfg.template, from: { name: source.guest, cfg, doc } };
    }
  }
}

export function buildGuest(deps: Deps, name: string, opts: BuildOptions = {}): Promise<GuestInfo> {
  checkName(name);
  const source: BuildSource = opts.source ?? { kind: 'template', name: 'busybox' };
  if (opts.context !== undefined && !(Number.isInteger(opts.context) && opts.context >= CONTEXT_MIN && opts.context <= CONTEXT_MAX)) {
    throw new VsError(
      'INVALID_VALUE',
      `context ${opts.context} is out of range`,
      `give a whole number from ${CONTEXT_MIN} to ${CONTEXT_MAX}`,
    );
  }
  if (source.kind === 'clone' && source.guest === name) throw usage('a guest cannot be cloned onto itself', 'give the copy another name');
  return withLock(deps.paths.lock(name), `vserver build ${name}`, async () => {
    if (deps.store.exists(name)) {
      throw new VsError(
        'ALREADY_EXISTS',
        `guest '${name}' already exists`,
        `choose another name, or delete it first with 'vserver delete ${name}'`,
      );
    }
    const dir = deps.paths.guestDir(name);
    await clearUnfinished(deps, name);
    if (existsSync(dir)) {
      throw new VsError(
        'ALREADY_EXISTS',
        `a tree for '${name}' exists at ${dir} but it has no config`,
        'move that directory away or remove it, then build again',
      );
    }
    const plan = planFor(deps, source, opts);
    const sourceLock = plan.from
      ? deps.paths.lock(plan.from.name)
      : plan.backend === 'overlay' && plan.template
        ? deps.paths.templateLock(plan.template)
        : undefined;
    const go = () => buildLocked(deps, name, source, plan, opts);
    return sourceLock ? withLock(sourceLock, `vserver build ${name}`, go) : go();
  });
}

async function buildLocked(deps: Deps, name: string, source: BuildSource, plan: Plan, opts: BuildOptions): Promise<GuestInfo> {
  if (plan.from) {
    checkNotReowning(deps, plan.from.name);
    if (isActive(await (await deps.runtime()).state(plan.from.name))) {
      throw new VsError(
        'ALREADY_RUNNING',
        `guest '${plan.from.name}' is running; a clone copies a stopped guest`,
        `stop it first with 'vserver stop ${plan.from.name}'`,
      );
    }
  } else if (plan.backend === 'overlay' && plan.template && !deps.templates.exists(plan.template)) {
    deps.templates.read(plan.template); // deleted while we waited for its lock
  }
  opts.signal?.throwIfAborted();
  const { context, tmp } = await reserve(deps, 'guest', name, opts.context);
  crashPoint('build:reserved');
  try {
    opts.signal?.throwIfAborted();
    const hostname = opts.hostname ?? name;
    // a clone gets new addresses: it must not clash with the guest it was copied from
    const cloned = cloneInterfaces(plan.from?.cfg.interfaces);
    const base: Partial<GuestDocument> = plan.from ? { ...plan.from.doc, interfaces: cloned.interfaces } : {};
    const doc = {
      ...base,
      context,
      hostname,
      init: plan.init,
      cmd: opts.cmd ?? plan.from?.cfg.cmd,
      backend: plan.backend,
      template: plan.template,
      privileged: opts.privileged === true ? true : plan.from?.cfg.privileged || undefined,
      isolated: opts.isolated === true ? true : plan.from?.cfg.isolated,
    } satisfies GuestDocument;
    const config = validate(deps.paths.guestConfig(name), GuestConfigSchema, doc);
    const ids = guestIds(deps, config);
    const identity = { hostname, init: config.init, owner: { uid: ids.base, gid: ids.base }, newMachine: true };
    if (plan.backend === 'overlay') {
      await buildOverlay(deps, tmp, plan, ids, identity);
    } else {
      const rootfs = join(tmp, 'rootfs');
      mkdirSync(rootfs, { mode: 0o755 });
      await fillDir(deps, source, plan, rootfs, ids, opts, hostname);
      if (!(source.kind === 'template' && source.name === 'busybox')) applyIdentity(plainTree(rootfs), identity);
    }
    crashPoint('build:filled');
    opts.signal?.throwIfAborted();
    sealTreeDir(tmp, ids);
    await placeGuest(deps, name, tmp, async () => {
      if (plan.backend === 'overlay') await mountOverlay(overlayDirs(deps, name, plan.template!));
      deps.store.write(name, shownConfig(config, doc));
    });
    const info = guestInfo(name, config, undefined, ids);
    if (cloned.notes.length > 0) info.warnings = [...(info.warnings ?? []), ...cloned.notes];
    return info;
  } catch (e) {
    return buildFailed(tmp, `building guest '${name}'`, e);
  }
}

async function fillDir(
  deps: Deps,
  source: BuildSource,
  plan: Plan,
  rootfs: string,
  ids: IdRange,
  opts: BuildOptions,
  hostname: string,
): Promise<void> {
  switch (source.kind) {
    case 'template':
      if (source.name === 'busybox') {
        await buildBusybox(rootfs, { hostname });
        shiftOwnership(rootfs, HOST_IDS, ids);
        return;
      }
      return fromTree(templateTree(deps, source.name), rootfs, contextRange(deps.templates.read(source.name).context), ids);
    case 'debootstrap':
      return fromDebootstrap(deps.paths, deps.host(), source, rootfs, ids, [plan.init], opts.onProgress, opts.signal);
    case 'tarball':
      return fromTarball(source.file, rootfs, ids, source.stream, opts.signal);
    case 'clone':
      return fromTree(guestTree(deps, plan.from!.name), rootfs, guestIds(deps, plan.from!.cfg), ids);
  }
}

/** Upper and work directories, and the guest's identity written into upper: no copy, no mount. */
async function buildOverlay(deps: Deps, tmp: string, plan: Plan, ids: IdRange, identity: GuestIdentity): Promise<void> {
  const lower = templateTree(deps, plan.template!);
  makeOverlayDirs(tmp, ids, lower);
  if (plan.from) {
    rmdirSync(join(tmp, 'upper'));
    await copyTree(guestTree(deps, plan.from.name, 'upper'), join(tmp, 'upper'));
  }
  applyIdentity(overlayTree(lower, join(tmp, 'upper')), identity);
}
