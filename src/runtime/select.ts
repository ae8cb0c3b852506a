// Picks the OCI runtime: the one vserver.toml names, else the first that works on this host.
import { copyFileSync, existsSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import * as v from 'valibot';
import { readdirIfExists, readIfExists } from '../util/fs.js';
import { checkJson } from '../util/json.js';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { VsError } from '../util/errors.js';
import { isNoSpace } from '../util/space.js';
import type { Paths } from '../util/paths.js';
import { run } from '../util/proc.js';
import { which } from '../util/which.js';
import { OciCli, missing, runtimeMessage } from './oci-cli.js';
import { buildSpec, clampRlimits, DEFAULT_RLIMITS } from './spec.js';
import { ownRlimits } from '../util/procfs.js';
import type { Runtime } from './types.js';

type RuntimeName = 'runc' | 'crun';

/** crun first: on hosts where it works (pure cgroup v2) it is the faster of the two. */
export const PROBE_ORDER: readonly RuntimeName[] = ['crun', 'runc'];

/** The runtime that worked here last time (run/vserver/runtime.json), so that the probe runs once. */
const CachedSchema = v.object({ name: v.picklist(PROBE_ORDER), path: v.string() });

function nameOf(path: string): RuntimeName {
  return basename(path).startsWith('crun') ? 'crun' : 'runc';
}

export interface SelectOptions {
  /** A static binary able to run in an empty root, used to try each runtime for real. */
  probeBinary?: () => string | undefined;
}

/** What vserver.toml says about the runtime: a name or auto, and optionally the binary to use. */
export interface RuntimeSettings {
  runtime: RuntimeName | 'auto';
  runtime_path?: string | undefined;
  /** The host's cgroup layout, where known: crun runs on pure cgroup v2, and on hybrid hosts ... */
  cgroupLayout?: 'v1' | 'hybrid' | 'v2';
  /** ... whose unified tree holds no controller (every one is on a v1 hierarchy). */
  unifiedControllers?: readonly string[];
}

/**
 * Why crun cannot run guests on this host, or undefined when it can. crun refuses v1 hosts and
 * hybrid hosts with controllers left on the unified tree, but only after it has set up devices,
 * and on the way it changes the owner of the host's /dev/null to the guest's root: it is never started there.
 */
function crunRefusal(host: RuntimeSettings): VsError | undefined {
  const layout = host.cgroupLayout;
  if (layout === undefined || layout === 'v2') return undefined;
  const left = host.unifiedControllers ?? [];
  if (layout === 'hybrid' && left.length === 0 && host.unifiedControllers !== undefined) return undefined;
  if (layout === 'v1') {
    return new VsError(
      'UNSUPPORTED',
      'crun cannot run guests on this host: its cgroups are in v1 mode (crun needs cgroup v2, or a hybrid host)',
      'use runc (runtime = "runc" or "auto" in vserver.toml), or boot the host with systemd.unified_cgroup_hierarchy=1',
    );
  }
  const mounts = left.map((c) => `mount -t cgroup -o ${c} cgroup /sys/fs/cgroup/${c}`).join('; ');
  return new VsError(
    'UNSUPPORTED',
    `crun cannot run guests on this host: its cgroups are in hybrid mode with ${left.length ? `the controller${left.length > 1 ? 's' : ''} ${left.join(', ')}` : 'controllers'} on the unified tree (crun needs pure cgroup v2, or a hybrid host with every controller on a v1 hierarchy)`,
    `use runc (runtime = "runc" or "auto" in vserver.toml), boot the host with systemd.unified_cgroup_hierarchy=1${mounts ? `, or move the controllers to v1 hierarchies (mkdir -p and ${mounts})` : ''}`,
  );
}

function refuseCrun(name: RuntimeName, host: RuntimeSettings): void {
  if (name !== 'crun') return;
  const why = crunRefusal(host);
  if (why) throw why;
}

export async function selectRuntime(paths: Paths, host: RuntimeSettings, opts: SelectOptions = {}): Promise<Runtime> {
  const make = (name: RuntimeName, path: string) => new OciCli(name, path, paths.runtimeRoot(name));
  if (host.runtime_path) {
    const name = host.runtime === 'auto' ? nameOf(host.runtime_path) : host.runtime;
    if (!which(host.runtime_path)) throw missing(name, host.runtime_path);
    refuseCrun(name, host);
    return make(name, host.runtime_path);
  }
  if (host.runtime !== 'auto') {
    const path = which(host.runtime);
    if (!path) throw missing(host.runtime, host.runtime);
    refuseCrun(host.runtime, host);
    return make(host.runtime, path);
  }
  // on a hybrid host crun runs only when vserver.toml names it: runc is the proven choice there
  const usable = PROBE_ORDER.filter((name) => name !== 'crun' || host.cgroupLayout === undefined || host.cgroupLayout === 'v2');
  // a crun chosen while the host allowed it is left once the cgroup set-up has changed, unless guests
  // still run under it: those are stopped by the runtime that keeps their state
  const cached = readCache(paths);
  const keep = cached && (usable.includes(cached.name) || readdirIfExists(paths.runtimeRoot(cached.name)).length > 0);
  if (cached && keep && which(cached.path)) return make(cached.name, cached.path);

  const installed = usable
    .map((name) => ({ name, path: which(name) }))
    .filter((c): c is { name: RuntimeName; path: string } => c.path !== undefined);
  if (installed.length === 0) {
    throw new VsError(
      'RUNTIME_MISSING',
      'no OCI runtime found: neither crun nor runc is installed',
      'install one: apt-get install runc (or crun on a pure cgroup v2 host)',
    );
  }
  const probe = opts.probeBinary?.();
  if (!probe) return make(installed[0]!.name, installed[0]!.path);
  const refusals: string[] = [];
  for (const c of installed) {
    let why: string | undefined;
    try {
      why = await tryRuntime(paths, c.path, probe);
    } catch (e) {
      if (!isNoSpace(e)) throw e;
      // no room for a probe: the runtime whose state is here already, else runc, which works on
      // every cgroup layout; not remembered, so that the next command with room probes properly
      const known = installed.find((i) => existsSync(paths.runtimeRoot(i.name))) ?? installed.find((i) => i.name === 'runc') ?? c;
      return make(known.name, known.path);
    }
    if (why === undefined) {
      writeFileAtomic(paths.runtimeCache, JSON.stringify(c), 0o644, { durable: false });
      return make(c.name, c.path);
    }
    refusals.push(`${c.name}: ${why}`);
  }
  throw new VsError(
    'RUNTIME_FAILED',
    `no installed OCI runtime works on this host (${refusals.join('; ')})`,
    'set runtime = "runc" or "crun" in vserver.toml to use one anyway, or fix the host\'s cgroup set-up',
  );
}

/** The cached choice; a missing or damaged cache only means probing again. */
function readCache(paths: Paths): v.InferOutput<typeof CachedSchema> | undefined {
  const text = readIfExists(paths.runtimeCache);
  if (text === undefined) return undefined;
  const r = checkJson(CachedSchema, text);
  return r.ok ? r.value : undefined;
}

/** What probes that died left under run/vserver/probe: each directory, and the container id it was for. */
export function deadProbes(paths: Paths): { dir: string; id: string }[] {
  const out: { dir: string; id: string }[] = [];
  for (const e of readdirIfExists(join(paths.run, 'probe'))) {
    const m = /-(\d+)$/.exec(e);
    if (m && !existsSync(`/proc/${m[1]}`)) out.push({ dir: join(paths.run, 'probe', e), id: `probe-${m[1]}` });
  }
  return out;
}

/** Runs `true` in a throw-away container; returns why the runtime failed, or undefined if it worked. */
async function tryRuntime(paths: Paths, runtimePath: string, binary: string): Promise<string | undefined> {
  const id = `probe-${process.pid}`;
  const bundle = join(paths.run, 'probe', `${basename(runtimePath)}-${process.pid}`);
  const state = join(paths.run, 'probe', `state-${process.pid}`);
  const rootfs = join(bundle, 'rootfs');
  try {
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    copyFileSync(binary, join(rootfs, 'bin/busybox'));
    const spec = buildSpec({
      name: id,
      context: 1,
      rootfs,
      hostname: 'probe',
      args: ['/bin/busybox', 'true'],
      cgroupsPath: `/${paths.cgroupName(id)}`,
      capabilities: [],
      seccomp: { defaultAction: 'SCMP_ACT_ALLOW' },
      rlimits: clampRlimits(DEFAULT_RLIMITS, ownRlimits()),
    });
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    const r = await run(runtimePath, ['--root', state, 'run', '--bundle', bundle, id], { timeoutMs: 20_000 });
    return r.code === 0 ? undefined : runtimeMessage(r.stderr) || `exit status ${r.code}`;
  } finally {
    await run(runtimePath, ['--root', state, 'delete', '--force', id]);
    rmSync(bundle, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
    try {
      rmdirSync(join(paths.run, 'probe'));
    } catch {
      /* another probe is still using it */
    }
  }
}
