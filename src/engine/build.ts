// Building a guest: the tree is made in a temporary directory and moved into place whole.
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { allocateContext, checkContextFree } from '../guest/context.js';
import { checkName } from '../guest/name.js';
import { validate } from '../guest/config.js';
import { CONTEXT_MAX, CONTEXT_MIN, GuestConfigSchema, type GuestConfig } from '../guest/schema.js';
import { ownerRange } from '../security/idmap.js';
import { buildBusybox } from '../storage/busybox.js';
import { shiftOwnership } from '../storage/shift.js';
import { fsyncDir } from '../util/atomic.js';
import { VsError } from '../util/errors.js';
import { lockHeld, withLock } from '../util/lock.js';
import type { Deps } from './deps.js';
import { guestInfo } from './state.js';
import type { BuildOptions, GuestInfo } from './types.js';

export const TEMPLATES = ['busybox'] as const;

/** Temporary build directories: .build-NAME-CONTEXT, which also reserves the context while building. */
const BUILD_DIR = /^\.build-([a-z0-9][a-z0-9-]{0,62})-(\d+)$/;

export function buildGuest(deps: Deps, name: string, opts: BuildOptions = {}): Promise<GuestInfo> {
  checkName(name);
  const template = opts.template ?? 'busybox';
  if (!(TEMPLATES as readonly string[]).includes(template)) {
    throw new VsError('NOT_FOUND', `template '${template}' not found`, `available templates: ${TEMPLATES.join(', ')}`);
  }
  if (opts.context !== undefined && !(Number.isInteger(opts.context) && opts.context >= CONTEXT_MIN && opts.context <= CONTEXT_MAX)) {
    throw new VsError('INVALID_VALUE', `context ${opts.context} is out of range`, `give a whole number from ${CONTEXT_MIN} to ${CONTEXT_MAX}`);
  }
  return withLock(deps.paths.lock(name), `vserver build ${name}`, async () => {
    if (deps.store.exists(name)) {
      throw new VsError('ALREADY_EXISTS', `guest '${name}' already exists`, `choose another name, or delete it first with 'vserver delete ${name}'`);
    }
    const dir = deps.paths.guestDir(name);
    if (existsSync(dir)) {
      throw new VsError('ALREADY_EXISTS', `a tree for '${name}' exists at ${dir} but it has no config`,
        'move that directory away or remove it, then build again');
    }
    const { context, tmp } = await reserve(deps, name, opts.context);
    try {
      const hostname = opts.hostname ?? name;
      const config = validate(deps.paths.guestConfig(name), GuestConfigSchema, {
        context, hostname, init: opts.init ?? (opts.cmd ? 'cmd' : 'plain'), cmd: opts.cmd, backend: 'dir', template,
        privileged: opts.privileged === true ? true : undefined,
      } satisfies Partial<GuestConfig>);
      const rootfs = join(tmp, 'rootfs');
      mkdirSync(rootfs, { mode: 0o755 });
      await buildBusybox(rootfs, { hostname });
      shiftOwnership(rootfs, ownerRange(context, true), ownerRange(context, config.privileged));
      // guest root (an unprivileged id) must be able to reach its tree; nobody may list the others
      chmodSync(tmp, 0o711);
      // the config is written last: until it exists there is no guest, only a directory a retry removes
      renameSync(tmp, dir);
      fsyncDir(deps.paths.guestsDir);
      try {
        deps.store.write(name, config);
      } catch (e) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
      return guestInfo(name, config, undefined);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      if (e instanceof VsError) throw e;
      throw new VsError('BUILD_FAILED', `building guest '${name}' failed: ${e instanceof Error ? e.message : String(e)}`,
        'nothing was kept; fix the cause and build again', { cause: e });
    }
  });
}

/** Picks the context and creates the build directory that holds it, under the installation-wide lock. */
async function reserve(deps: Deps, name: string, wanted?: number): Promise<{ context: number; tmp: string }> {
  const guests = deps.paths.guestsDir;
  mkdirSync(guests, { recursive: true });
  return withLock(join(deps.paths.locks, '.contexts'), 'allocating a context', async () => {
    const used = new Map<number, string>();
    for (const g of deps.store.readAll()) if (g.config) used.set(g.config.context, g.name);
    for (const entry of readdirSync(guests)) {
      const m = BUILD_DIR.exec(entry);
      if (!m) continue;
      if (lockHeld(deps.paths.lock(m[1]!))) used.set(Number(m[2]), m[1]!);
      else rmSync(join(guests, entry), { recursive: true, force: true }); // left by a build that died
    }
    let context: number;
    if (wanted !== undefined) {
      checkContextFree(used, wanted);
      context = wanted;
    } else context = allocateContext(new Set(used.keys()), deps.host().context_min);
    const tmp = join(guests, `.build-${name}-${context}`);
    mkdirSync(tmp, { mode: 0o700 });
    return { context, tmp };
  });
}
