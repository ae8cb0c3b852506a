import * as v from 'valibot';
import { limitExample, limitKeyPath, LIMIT_KEY_NOTE, LIMIT_KEYS } from '../guest/limit-keys.js';
import { LimitsSchema, type LimitsInput } from '../guest/limits-schema.js';
import { checkName, printable } from '../guest/name.js';
import type { GuestConfig } from '../guest/schema.js';
import {
  checkLimits,
  ioDeviceChanges,
  ioDeviceLimits,
  ioDevices,
  limitsError,
  limitValue,
  loweredRlimits,
  toResources,
  wantedRlimits,
  type HostFacts,
} from '../resources/limits.js';
import { setProcessRlimits } from '../resources/prlimit.js';
import type { OciRlimit, OciSpec } from '../oci/types.js';
import { crunUnwritable } from '../runtime/crun-quirks.js';
import { clampRlimits, DEFAULT_RLIMITS, ociJson } from '../runtime/spec.js';
import { writeFileAtomic } from '../util/atomic.js';
import { crashPoint } from '../util/crash.js';
import { VsError } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import { rlimitCeiling } from '../util/procfs.js';
import type { Deps } from './deps.js';
import { beginLimitChange, endLimitChange, limitChangePending } from './limit-change.js';
import { isActive } from './state.js';
import { bundleFile, readBundleSpec } from './bundle.js';

export interface LimitResult {
  name: string;
  key: string;
  value: unknown;
  /** True when the running guest got the new limit now; false when it takes effect at the next start. */
  live: boolean;
  /** The guest's limits after the change, in the file's words. */
  limits: LimitsInput;
  warnings: string[];
  /** The config file's version after the change. */
  version: string;
}

/** Several limits changed together: all of them, or (on any error) none. */
export interface LimitsResult extends Omit<LimitResult, 'key' | 'value'> {
  changes: { key: string; value: unknown }[];
}

/** The guest's own limits in the file's words. */
export function showLimits(deps: Deps, name: string): LimitsInput {
  return deps.store.document(checkName(name)).doc.limits ?? {};
}

type Change = { key: string; raw: string; path: string[]; value: unknown };

function describeChanges(changes: readonly Change[]): string {
  return changes.map((c) => `${c.key} to '${printable(c.raw)}'`).join(', ');
}

function invalid(name: string, changes: readonly Change[], limits: unknown): VsError | undefined {
  const r = v.safeParse(LimitsSchema, limits, { abortEarly: false });
  if (r.success) return undefined;
  const what = r.issues.slice(0, 4).map((i) => {
    const k = (i.path ?? []).map((p) => p.key as string).join('.');
    return /^(must|is) /.test(i.message) ? `${k} ${i.message}` : `${k}: ${i.message}`;
  });
  const c = changes[0]!;
  return new VsError(
    'INVALID_VALUE',
    `cannot set ${describeChanges(changes)}: ${what.join('; ')}`,
    `nothing was changed; for example: vserver limit ${name} ${c.key} ${limitExample(c.key)}`,
  );
}

export async function setLimit(deps: Deps, name: string, key: string, raw: string): Promise<LimitResult> {
  const { changes, ...r } = await setLimits(deps, name, [[key, raw]]);
  return { ...r, key, value: changes[0]!.value };
}

/** Changes limits (KEY and VALUE as `vserver limit` takes them) in one step: a running guest gets them at once, then they are saved. */
export function setLimits(
  deps: Deps,
  name: string,
  pairs: readonly (readonly [string, string])[],
  opts: { ifVersion?: string } = {},
): Promise<LimitsResult> {
  checkName(name);
  if (pairs.length === 0) throw new VsError('USAGE', 'no limit to change', `for example: vserver limit ${name} memory.max 512M`);
  const changes: Change[] = pairs.map(([key, raw]) => {
    const path = limitKeyPath(key);
    if (!path)
      throw new VsError('USAGE', `unknown limit key '${printable(key)}'`, `the keys are: ${LIMIT_KEYS.join(', ')} (${LIMIT_KEY_NOTE})`);
    return { key, raw, path, value: limitValue(path, raw) };
  });
  return withLock(deps.paths.lock(name), `vserver limit ${name}`, async () => {
    if (limitChangePending(deps, name)) await settleLimits(deps, name);
    const edit = deps.store.prepareEdit(
      name,
      { paths: changes.map((c) => [['limits', ...c.path], c.value]) },
      {
        ifVersion: opts.ifVersion,
        check: (doc) => {
          const bad = invalid(name, changes, doc.limits);
          if (bad) throw bad;
        },
      },
    );
    const before = edit.before.config;
    const after = edit.config;
    const facts = deps.hostFacts([...new Set([...ioDevices(before.limits), ...ioDevices(after.limits)])]);
    const problems = checkLimits(after.limits, facts);
    if (problems.length > 0) {
      throw limitsError(
        'INVALID_VALUE',
        `cannot set ${describeChanges(changes)}`,
        problems,
        'nothing was changed; choose a value this host can enforce',
      );
    }
    const rt = await deps.runtime();
    const st = await rt.state(name);
    const warnings: string[] = [];
    const live = isActive(st);
    if (live) {
      // a crash from here until the config is saved leaves the mark: the next command settles it
      beginLimitChange(deps, name);
      await applyLive(deps, name, before, after, facts, warnings).catch(async (e: unknown) => {
        // refused: the config's limits go back in force (if even that fails, the mark stays for the next command)
        await settleLimits(deps, name).catch(() => undefined);
        throw e;
      });
      crashPoint('limit:applied');
    }
    // saved only once the running guest took it: the file never promises what is not in force
    edit.write();
    crashPoint('limit:saved');
    endLimitChange(deps, name);
    return {
      name,
      changes: changes.map((c) => ({ key: c.key, value: c.value })),
      live,
      limits: edit.doc.limits ?? {},
      warnings,
      version: edit.version,
    };
  });
}

/**
 * Puts the limits of the config in force on the guest again, after a limit change was killed
 * between the kernel and the config: the config is what the user was told, so it wins. A
 * stopped guest gets them at its next start anyway.
 */
export async function settleLimits(deps: Deps, name: string): Promise<void> {
  if (isActive(await (await deps.runtime()).state(name))) {
    const cfg = deps.store.read(name);
    await applyLive(deps, name, undefined, cfg, deps.hostFacts(ioDevices(cfg.limits)), []);
  }
  endLimitChange(deps, name);
}

/** Gives the running guest the limits of `after`; rlimits only where they differ from `before`, if given. */
async function applyLive(
  deps: Deps,
  name: string,
  before: GuestConfig | undefined,
  after: GuestConfig,
  facts: HostFacts,
  warnings: string[],
): Promise<void> {
  const rt = await deps.runtime();
  const cg = deps.cgroups();
  const cgName = deps.paths.cgroupName(name);
  const io = (c: GuestConfig) => ioDeviceChanges(ioDeviceLimits(c.limits, facts), cg.limits(cgName)?.io ?? []);
  try {
    const resources = toResources(after.limits, facts, true);
    const lift = rt.name === 'crun' ? crunUnwritable(resources) : {};
    await rt.update(name, resources);
    cg.writeUnlimited(cgName, lift);
    cg.writeIoLimits(cgName, io(after));
  } catch (e) {
    if (e instanceof VsError) throw new VsError(e.code, e.message, `the config was not changed; ${e.hint ?? ''}`.replace(/; $/, ''));
    throw e;
  }
  const wanted = wantedRlimits(after.limits, DEFAULT_RLIMITS);
  const rlimits = clampRlimits(wanted, rlimitCeiling());
  warnings.push(...loweredRlimits(after.limits, rlimits));
  const old = before && clampRlimits(wantedRlimits(before.limits, DEFAULT_RLIMITS), rlimitCeiling());
  const changed = old
    ? rlimits.filter(
        (r) =>
          !sameRlimit(
            r,
            old.find((b) => b.type === r.type),
          ),
      )
    : rlimits;
  if (changed.length === 0) return;
  updateBundle(deps, name, rlimits);
  const { failed, reason } = await setProcessRlimits(cg.pids(cgName), changed);
  if (failed > 0) {
    warnings.push(
      `${failed} running process${failed === 1 ? '' : 'es'} kept the old rlimits (${reason ?? 'refused'}); ` +
        `commands started from now on get the new ones, and all processes after 'vserver restart ${name}'`,
    );
  }
}

function sameRlimit(a: OciRlimit, b: OciRlimit | undefined): boolean {
  return b !== undefined && a.soft === b.soft && a.hard === b.hard;
}

/** The runtime reads process settings for `exec` from the bundle, so new commands get the new rlimits. */
function updateBundle(deps: Deps, name: string, rlimits: OciRlimit[]): void {
  const read = readBundleSpec(deps, name);
  if (read === undefined) return;
  if (!read.ok) {
    throw new VsError(
      'RUNTIME_FAILED',
      `the bundle ${bundleFile(deps, name)} of guest '${name}' is damaged: ${read.why}`,
      `restart the guest ('vserver restart ${name}'): its start writes the bundle anew`,
    );
  }
  writeFileAtomic(
    bundleFile(deps, name),
    ociJson({ ...read.value, process: { ...read.value.process, rlimits } } as unknown as OciSpec),
    0o600,
    {
      durable: false,
    },
  );
}
