// vserver import-legacy: a util-vserver guest (/etc/vservers/NAME and the tree its vdir link names)
// becomes a guest here. --copy (the default) copies the tree and never changes the original;
// --in-place moves the tree (same filesystem) after the guest's config is written, so that a crash
// leaves either the legacy tree where it was or a guest that owns it, never a tree gc would remove.
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { shownConfig, validate } from '../guest/config.js';
import { readLegacyDir } from '../guest/legacy-read.js';
import { translateLegacy, type LegacyItem } from '../guest/legacy-translate.js';
import { checkName } from '../guest/name.js';
import { CONTEXT_MIN, GuestConfigSchema, type GuestConfig } from '../guest/schema.js';
import { IDS_PER_GUEST, type IdRange } from '../guest/idmap.js';
import { copyTree } from '../storage/copy.js';
import { shiftOwnership } from '../storage/shift.js';
import { writeFileAtomic } from '../util/atomic.js';
import { crashPoint } from '../util/crash.js';
import { errnoOf, VsError } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import type { Deps } from './deps.js';
import { registry } from './ranges.js';
import { clearUnfinished, placeGuest, removeLeftover, reserve } from './reserve.js';
import { finishReown, type Reown } from './reown.js';
import { guestIds, guestInfo } from './state.js';
import { sealTreeDir } from './tree-access.js';
import type { GuestInfo } from './types.js';

export interface LegacyImportOptions {
  name?: string;
  inPlace?: boolean;
  /** No id shift: guest root stays host root, as under util-vserver. */
  privileged?: boolean;
}

export interface LegacyImportResult extends GuestInfo {
  /** Where the tree was, and whether it was copied or moved. */
  source: string;
  method: 'copy' | 'in-place';
  /** The context the old config asked for, when another had to be picked. */
  contextWanted?: number;
  /** Files whose owners moved into the guest's id range. */
  shifted: number;
  items: LegacyItem[];
}

/** util-vserver guests ran with the host's own ids: 0-65535 are the guest's users. */
const LEGACY_IDS: IdRange = { base: 0, size: IDS_PER_GUEST };

export async function importLegacy(deps: Deps, dir: string, opts: LegacyImportOptions = {}): Promise<LegacyImportResult> {
  const confDir = resolve(dir);
  const plan = translateLegacy(readLegacyDir(confDir));
  const name = opts.name ?? plan.name ?? basename(confDir);
  try {
    checkName(name);
  } catch {
    throw new VsError(
      'INVALID_NAME',
      `'${name}' (from ${plan.name === undefined ? "the directory's name" : `${confDir}/name`}) is not a valid guest name`,
      'give one with --name NEW: lower-case letters, digits and dashes',
    );
  }
  const tree = legacyTree(confDir, plan.vdir);
  const raw: Record<string, unknown> = { ...plan.config };
  if (opts.privileged) raw.privileged = true;
  // checked before anything is made: a config that cannot be written stops the import here
  const checked = validate(`${confDir} (translated)`, GuestConfigSchema, { ...raw, context: plan.context ?? CONTEXT_MIN });
  if (opts.inPlace) sameFilesystem(deps, tree);
  return withLock(deps.paths.lock(name), `vserver import-legacy ${name}`, async () => {
    if (deps.store.exists(name)) {
      throw new VsError('ALREADY_EXISTS', `guest '${name}' already exists`, 'give the imported guest another name with --name NEW');
    }
    await clearUnfinished(deps, name);
    const { context, tmp } = await reserve(deps, 'guest', name, plan.context, { prefer: true });
    const cfg: GuestConfig = { ...checked, context };
    const ids = guestIds(deps, cfg);
    const placing: Placing = { cfg, ids, write: () => void deps.store.write(name, shownConfig(cfg, raw)) };
    const placed = opts.inPlace ? await moveIn(deps, name, tmp, tree, placing) : await copyIn(deps, name, tmp, tree, placing);
    const info = guestInfo(name, cfg, undefined, ids);
    return {
      ...info,
      source: tree,
      method: opts.inPlace ? 'in-place' : 'copy',
      shifted: placed,
      ...(plan.context !== undefined && plan.context !== context ? { contextWanted: plan.context } : {}),
      items: plan.items,
    };
  });
}

/** The vdir link, or util-vserver's default: .defaults/vdirbase/NAME beside the configuration directory. */
function legacyTree(confDir: string, vdir: string | undefined): string {
  const path = vdir !== undefined ? resolve(confDir, vdir) : join(dirname(confDir), '.defaults/vdirbase', basename(confDir));
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
    throw new VsError(
      'ROOTFS_MISSING',
      `the guest's tree ${path} (${vdir !== undefined ? 'named by the vdir link' : "util-vserver's default place"}) does not exist`,
      `point ${confDir}/vdir at the guest's tree (ln -sfn /vservers/NAME ${confDir}/vdir)`,
    );
  }
  if (!st.isDirectory() || path === '/') {
    throw new VsError(
      'ROOTFS_MISSING',
      `the guest's tree ${path} is not a directory that can be a guest's tree`,
      `point ${confDir}/vdir at the guest's tree`,
    );
  }
  return path;
}

function sameFilesystem(deps: Deps, tree: string): void {
  mkdirSync(deps.paths.guestsDir, { recursive: true, mode: 0o711 });
  if (statSync(tree).dev !== statSync(deps.paths.guestsDir).dev) {
    throw new VsError(
      'UNSUPPORTED',
      `--in-place moves the tree, but ${tree} is on another filesystem than ${deps.paths.guestsDir}`,
      'import a copy with --copy (the legacy tree stays as it is), or move the tree onto that filesystem first',
    );
  }
}

/** The guest being placed: its checked config, its ids, and how its config file is written. */
interface Placing {
  cfg: GuestConfig;
  ids: IdRange;
  write: () => void;
}

/** Copy: the tree is copied and shifted inside the build directory; a failure or crash leaves only that copy to remove. */
async function copyIn(deps: Deps, name: string, tmp: string, tree: string, { cfg, ids, write }: Placing): Promise<number> {
  try {
    await copyTree(tree, join(tmp, 'rootfs'));
    crashPoint('import-legacy:copied');
    const shifted = cfg.privileged ? 0 : shiftOwnership(join(tmp, 'rootfs'), LEGACY_IDS, ids);
    sealTreeDir(tmp, ids);
    await placeGuest(deps, name, tmp, write);
    return shifted;
  } catch (e) {
    await removeLeftover(tmp);
    throw e;
  }
}

/**
 * In place: the guest is placed without a tree first, then the legacy tree is moved in. Its owners
 * are shifted through a re-own journal, so that gc finishes a shift a crash interrupted.
 */
async function moveIn(deps: Deps, name: string, tmp: string, tree: string, { cfg, ids, write }: Placing): Promise<number> {
  try {
    sealTreeDir(tmp, ids);
    await placeGuest(deps, name, tmp, write);
  } catch (e) {
    await removeLeftover(tmp);
    throw e;
  }
  const rootfs = deps.paths.rootfs(name);
  const journal: Reown = { key: 'context', value: cfg.context, from: LEGACY_IDS, to: ids, started: new Date().toISOString() };
  let moved = false;
  try {
    if (!cfg.privileged) {
      // written before the tree moves in: from then on start refuses the guest until the shift is done
      writeFileAtomic(deps.paths.reownJournal(name), JSON.stringify(journal), 0o600);
    }
    renameSync(tree, rootfs);
    moved = true;
    crashPoint('import-legacy:moved');
    return cfg.privileged ? 0 : finishReown(deps, name, journal);
  } catch (e) {
    // the tree goes back where it was, with its owners, and the guest goes
    if (moved) {
      if (!cfg.privileged) shiftOwnership(rootfs, ids, LEGACY_IDS);
      renameSync(rootfs, tree);
    }
    deps.store.remove(name);
    if (!existsSync(rootfs)) await removeLeftover(deps.paths.guestDir(name));
    registry(deps).release(cfg.context);
    if (errnoOf(e) === 'EXDEV') {
      throw new VsError(
        'UNSUPPORTED',
        `--in-place cannot move ${tree}: it is a mount point of its own`,
        'import a copy with --copy (the legacy tree stays as it is)',
      );
    }
    throw e;
  }
}
