// The target's side of a migration (vserver receive NAME, run by migrate over ssh): it reserves a
// context and a staging directory that rsync fills, and on 'finish' re-owns the tree to this host's
// range, places it as a guest atomically and starts it. It holds the guest's lock throughout; if its
// input ends or goes quiet before 'finish', or anything fails, it leaves no guest and no staging.
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parse as parseToml } from 'smol-toml';
import * as v from 'valibot';
import { shownConfig, validate } from '../guest/config.js';
import { checkName } from '../guest/name.js';
import { GuestConfigSchema, TemplateMetaSchema, type GuestConfig } from '../guest/schema.js';
import { contextRange, IDS_PER_GUEST, type IdRange } from '../guest/idmap.js';
import { mountOverlay } from '../storage/overlay.js';
import { removeTree } from '../storage/remove.js';
import { saveOwnerAttrs } from '../storage/owner-attrs.js';
import { shiftOwnership } from '../storage/shift.js';
import { fsyncDir } from '../util/atomic.js';
import { helperPath } from '../util/helpers.js';
import { traced } from '../util/trace.js';
import { crashPoint } from '../util/crash.js';
import { toVsError, VsError } from '../util/errors.js';
import { requireRealDir } from '../util/fs.js';
import { acquireLock, withLock, type Lock } from '../util/lock.js';
import type { Deps } from './deps.js';
import { checkNetworkConfig } from './network.js';
import { overlayDirs, unmountGuest } from './mount.js';
import { registry } from './ranges.js';
import { clearUnfinished, placeGuest, removeLeftover, reserve, type Reservation } from './reserve.js';
import { startLocked } from './start.js';
import { stopLxcfsIfIdle } from './delete.js';
import { teardown } from './teardown.js';
import { sealTreeDir } from './tree-access.js';
import type { GuestInfo } from './types.js';
import { guestInfo } from './state.js';

/** Silence from the source for this long ends the session: the link or the source is gone. */
export const RECEIVE_IDLE_MS = 30_000;

const Id = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));
const Range = v.object({ base: Id, size: Id });
const Hello = v.object({
  op: v.literal('hello'),
  /** The guest's TOML on the source. */
  config: v.string(),
  /** Host ids that own the tree as sent. */
  ids: Range,
  /** The tree holds device nodes, which its owners' user namespace could not make. */
  devices: v.optional(v.boolean()),
  template: v.optional(v.object({ name: v.string(), meta: v.unknown(), ids: Range, devices: v.optional(v.boolean()) })),
});

export interface ReceiveResult {
  info: GuestInfo;
  notes: string[];
}

/** Lines from the source, one at a time; undefined when the input ended. */
function lineSource(input: Readable): (timeoutMs: number) => Promise<string | undefined> {
  const queue: string[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const end = () => {
    ended = true;
    wake?.();
  };
  createInterface({ input })
    .on('line', (l) => {
      queue.push(l);
      wake?.();
    })
    .on('close', end);
  input.on('close', end);
  return async (timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    while (queue.length === 0 && !ended) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new VsError('MIGRATION_FAILED', `the source said nothing for ${timeoutMs / 1000} s`, 'migrate again from the source');
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
      wake = undefined;
    }
    return queue.shift();
  };
}

function message(line: string | undefined): Record<string, unknown> {
  if (line === undefined) {
    throw new VsError('MIGRATION_FAILED', 'the source went away before the switch', 'nothing was kept here; migrate again from the source');
  }
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new VsError(
      'USAGE',
      'receive speaks JSON lines with vserver migrate; it is not for use by hand',
      "run 'vserver migrate NAME ssh://...' on the source",
    );
  }
}

/**
 * A bridge interface whose static address is taken here gets one from this host's pool ("auto"),
 * and the note says so; anything else taken here is an error that names it.
 */
async function fitNetwork(deps: Deps, name: string, cfg: GuestConfig, notes: string[]): Promise<GuestConfig> {
  try {
    await checkNetworkConfig(deps, name, cfg);
    return cfg;
  } catch (e) {
    if (!(e instanceof VsError)) throw e;
    const fixed = (cfg.interfaces ?? []).map((i, n) => {
      if (i.mode !== 'bridge') return i;
      const out = { ...i };
      for (const k of ['address', 'address6'] as const) {
        if (out[k] !== undefined && out[k] !== 'auto') {
          notes.push(
            `interfaces.${n}.${k} ${out[k]} cannot be used on the target (${e.message}); it gets a free address from the target's pool at start`,
          );
          out[k] = 'auto';
        }
      }
      return out;
    });
    if (notes.length === 0) {
      throw new VsError(
        e.code,
        `the guest's network does not fit the target: ${e.message}`,
        `free it on the target, or change the guest's interfaces here ('vserver config ${name} ...'), then migrate again`,
      );
    }
    const next = { ...cfg, interfaces: fixed };
    await checkNetworkConfig(deps, name, next);
    return next;
  }
}

export function receiveGuest(
  deps: Deps,
  name: string,
  input: Readable,
  send: (msg: Record<string, unknown>) => void,
): Promise<ReceiveResult> {
  checkName(name);
  const next = lineSource(input);
  return withLock(deps.paths.lock(name), `vserver receive ${name}`, async () => {
    let staged: Reservation | undefined;
    let tmpl: { name: string; lock: Lock; res?: Reservation; placed?: boolean; context?: number } | undefined;
    let placed = false;
    let context: number | undefined;
    try {
      const hello = validate('the migration request', Hello, message(await next(RECEIVE_IDLE_MS)));
      if (deps.store.exists(name)) {
        throw new VsError(
          'ALREADY_EXISTS',
          `guest '${name}' already exists on the target`,
          `delete it there ('vserver delete ${name}') if it is an old copy, then migrate again`,
        );
      }
      await clearUnfinished(deps, name);
      const raw = parseToml(hello.config);
      let cfg = validate(`guest '${name}''s config from the source`, GuestConfigSchema, raw);
      const notes: string[] = [];
      let ids: IdRange = { base: 0, size: IDS_PER_GUEST };
      if (cfg.backend === 'overlay' && cfg.template !== undefined) {
        const t = checkName(cfg.template, 'template');
        tmpl = { name: t, lock: await acquireLock(deps.paths.templateLock(t), `vserver receive ${name}`) };
        if (deps.templates.exists(t)) tmpl.context = deps.templates.read(t).context;
        else {
          if (!hello.template)
            throw new VsError('MIGRATION_FAILED', `template '${t}' is missing on the target and was not sent`, 'migrate again');
          const meta = validate(`template '${t}' from the source`, TemplateMetaSchema, hello.template.meta);
          tmpl.res = await reserve(deps, 'template', t, meta.context, { prefer: true });
          tmpl.context = tmpl.res.context;
          notes.push(`template '${t}' was missing on the target: it is copied there (context ${tmpl.context})`);
        }
      }
      staged = await reserve(deps, 'guest', name, cfg.context, { prefer: true });
      context = staged.context;
      if (context !== cfg.context) notes.push(`context ${cfg.context} is taken on the target: the guest gets context ${context} there`);
      cfg = await fitNetwork(deps, name, { ...cfg, context }, notes);
      if (!cfg.privileged) ids = tmpl ? contextRange(tmpl.context!) : contextRange(context);
      // the runtime is chosen (a first choice probes it) and lxcfs started now, not while the guest is frozen at the source
      await traced(`receive ${name}: runtime and lxcfs`, async () => {
        await deps.runtime();
        await deps.lxcfs().prepare();
      });
      const told = notes.length;
      // owners shifted as they arrive: the switch has no tree to re-own
      const guestPath = hello.devices ? undefined : shiftingRsync(hello.ids, ids);
      const tmplPath =
        tmpl?.res && !hello.template!.devices ? shiftingRsync(hello.template!.ids, contextRange(tmpl.res.context)) : undefined;
      send({
        ok: true,
        staging: staged.tmp,
        ...(tmpl?.res ? { templateStaging: tmpl.res.tmp, ...(tmplPath ? { templateRsyncPath: tmplPath } : {}) } : {}),
        ...(guestPath ? { rsyncPath: guestPath } : {}),
        context,
        notes,
      });

      let start = true;
      for (;;) {
        const m = message(await next(RECEIVE_IDLE_MS));
        // a guest that was stopped at the source is placed stopped
        if (m.op === 'finish') {
          start = m.start !== false;
          break;
        }
        if (m.op !== 'ping')
          throw new VsError('USAGE', `unknown migration step '${String(m.op)}'`, 'use the same vserver version on both hosts');
      }
      crashPoint('receive:finish');
      if (tmpl?.res) {
        const meta = validate(`template '${tmpl.name}' from the source`, TemplateMetaSchema, hello.template!.meta);
        const tids = contextRange(tmpl.res.context);
        requireRealDir(join(tmpl.res.tmp, 'rootfs'), `template '${tmpl.name}' as sent`, 'migrate again');
        if (!tmplPath) await reown(join(tmpl.res.tmp, 'rootfs'), hello.template!.ids, tids, scratch(deps), notes);
        deps.templates.writeInto(join(tmpl.res.tmp, 'template.toml'), { ...meta, context: tmpl.res.context });
        sealTreeDir(tmpl.res.tmp, tids);
        renameSync(tmpl.res.tmp, deps.paths.template(tmpl.name));
        fsyncDir(deps.paths.templatesDir);
        tmpl.placed = true;
      }
      const overlay = tmpl !== undefined;
      const part = join(staged.tmp, overlay ? 'upper' : 'rootfs');
      requireRealDir(part, `guest '${name}''s tree as sent`, 'migrate again');
      // without the id-mapping helper the tree came in the source's range; this host's range may be another
      if (!guestPath) await traced(`receive ${name}: re-own`, () => reown(part, hello.ids, ids, scratch(deps), notes));
      if (overlay) {
        mkdirSync(join(staged.tmp, 'work'), { recursive: true, mode: 0o700 });
        mkdirSync(join(staged.tmp, 'rootfs'), { recursive: true, mode: 0o755 });
      }
      sealTreeDir(staged.tmp, ids);
      const final = cfg;
      const into = staged.tmp;
      await traced(`receive ${name}: place`, () =>
        placeGuest(deps, name, into, async () => {
          if (overlay) await mountOverlay(overlayDirs(deps, name, tmpl!.name));
          deps.store.write(name, shownConfig(final, raw));
        }),
      );
      placed = true;
      crashPoint('receive:placed');
      const info = start ? await traced(`receive ${name}: start`, () => startLocked(deps, name)) : guestInfo(name, final, undefined, ids);
      const st = await (await deps.runtime()).state(name);
      if (start && st?.status !== 'running') {
        throw new VsError(
          'RUNTIME_FAILED',
          `guest '${name}' started on the target but is ${st?.status ?? 'gone'} right after`,
          `see its log there (var/log/vserver/${name}.log)`,
        );
      }
      const result = { info: start ? { ...info, state: 'running' as const } : info, notes };
      send({ ok: true, info: result.info, notes: notes.slice(told) });
      // kept only once the source confirms it got that answer: else it would thaw its copy too
      for (;;) {
        const m = message(await next(RECEIVE_IDLE_MS));
        if (m.op === 'commit') break;
        if (m.op !== 'ping')
          throw new VsError('USAGE', `unknown migration step '${String(m.op)}'`, 'use the same vserver version on both hosts');
      }
      crashPoint('receive:commit');
      send({ ok: true, committed: true });
      tmpl?.lock.release();
      return result;
    } catch (e) {
      const err = toVsError(e);
      send({ ok: false, error: err.toJSON() });
      if (placed) await unplace(deps, name, context!);
      else if (staged) await removeLeftover(staged.tmp);
      if (tmpl?.placed) {
        await removeTree(deps.paths.template(tmpl.name));
        registry(deps).release(tmpl.context!);
      } else if (tmpl?.res) await removeLeftover(tmpl.res.tmp);
      tmpl?.lock.release();
      // the lxcfs started while preparing, if no guest here needs it
      await stopLxcfsIfIdle(deps).catch(() => undefined);
      throw err;
    }
  });
}

/**
 * The rsync command (as words) that writes a tree sent in the `from` range with this host's `to`
 * owners; none when the ranges are the same or this vserver was built without its helper.
 */
function shiftingRsync(from: IdRange, to: IdRange): string[] | undefined {
  if (from.base === to.base || from.size !== to.size) return undefined;
  let helper: string;
  try {
    helper = helperPath('idmap-run');
  } catch {
    return undefined;
  }
  return [helper, String(from.base), String(to.base), String(to.size), '--', 'rsync'];
}

function scratch(deps: Deps): string {
  const d = join(deps.paths.run, 'tmp');
  mkdirSync(d, { recursive: true, mode: 0o700 });
  return d;
}

/** Moves a tree's owners to this host's range, keeping file capabilities and moving ACL entries along. */
async function reown(tree: string, from: IdRange, to: IdRange, scratch: string, notes: string[]): Promise<void> {
  if (from.base === to.base) return;
  const saved = await saveOwnerAttrs(tree, from, to, scratch);
  if (saved.missing.length > 0) {
    notes.push(
      `${saved.missing.join(', ')} missing on the target (packages acl, attr): ACLs or file capabilities may not have survived the change of owner`,
    );
  }
  shiftOwnership(tree, from, to);
  await saved.restore();
}

/** Takes back a guest this receive placed (its start failed): runtime state, mount, tree, config, range. */
async function unplace(deps: Deps, name: string, context: number): Promise<void> {
  await teardown(deps, name);
  await unmountGuest(deps, name);
  await removeLeftover(deps.paths.guestDir(name));
  deps.store.remove(name);
  registry(deps).release(context);
}
