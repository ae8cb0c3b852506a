// Starting a guest: config -> OCI bundle -> runtime; every host change is undone on failure.
import { closeSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { initPlan } from '../guest/init.js';
import { checkName } from '../guest/name.js';
import { effectiveLimits, userCounts } from '../resources/guest-defaults.js';
import { countArgs, userCountsHook } from '../resources/user-counts.js';
import { checkLimits, ioDevices, limitsError, loweredRlimits, toResources, wantedRlimits } from '../resources/limits.js';
import { buildSpec, clampRlimits, DEFAULT_RLIMITS, ociJson, tmpfsMount, withNetwork } from '../runtime/spec.js';
import { capabilitySet } from '../oci/capabilities.js';
import { IDS_PER_GUEST, idMappings } from '../guest/idmap.js';
import { defaultSeccomp, loadSeccompProfile } from '../security/seccomp.js';
import { writeFileAtomic } from '../util/atomic.js';
import { VsError } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import { rlimitCeiling } from '../util/procfs.js';
import { which } from '../util/which.js';
import { crashPoint } from '../util/crash.js';
import { Revert, withCleanupProblems } from '../util/revert.js';
import { traced, tracedSync } from '../util/trace.js';
import type { Deps } from './deps.js';
import { ensureMounted } from './mount.js';
import { checkNotReowning } from './reown.js';
import { interfacesInfo } from './network-info.js';
import { launch, setupNetwork } from './network.js';
import { guestIds, guestInfo, isActive } from './state.js';
import { settleLimitChange } from './limit-settle.js';
import { holdRange } from './ranges.js';
import { teardown } from './teardown.js';
import { sealGuestDir } from './tree-access.js';
import { guestTree } from './trees.js';
import type { GuestInfo } from './types.js';

export function startGuest(deps: Deps, name: string): Promise<GuestInfo> {
  checkName(name);
  return withLock(deps.paths.lock(name), `vserver start ${name}`, () => traced(`start ${name}: all`, () => startLocked(deps, name)));
}

/**
 * An unprivileged guest's root is a host id that must be able to pass through every directory
 * above its tree; the runtime would only say "permission denied", so this says which one blocks.
 */
function checkReachable(rootfs: string, uid: number, name: string): void {
  for (let dir = dirname(rootfs); ; dir = dirname(dir)) {
    const st = statSync(dir);
    const searchable = st.uid === uid ? (st.mode & 0o100) !== 0 : st.gid === uid ? (st.mode & 0o010) !== 0 : (st.mode & 0o001) !== 0;
    if (!searchable) {
      throw new VsError(
        'NOT_PERMITTED',
        `guest '${name}' cannot reach its tree: its root (host uid ${uid}) may not pass through ${dir} ` +
          `(mode ${(st.mode & 0o777).toString(8).padStart(4, '0')})`,
        `let others pass through that directory (chmod o+x ${dir}), or move the installation`,
      );
    }
    if (dir === '/') return;
  }
}

export async function startLocked(deps: Deps, name: string): Promise<GuestInfo> {
  const cfg = tracedSync(`start ${name}: read config`, () => deps.store.read(name));
  const rt = await traced('select the runtime', () => deps.runtime());
  const before = await traced(`start ${name}: runtime state`, () => rt.state(name));
  if (isActive(before)) {
    await settleLimitChange(deps, name);
    throw new VsError(
      'ALREADY_RUNNING',
      `guest '${name}' is already running (init pid ${before.pid})`,
      `use 'vserver restart ${name}' to restart it`,
    );
  }
  checkNotReowning(deps, name);
  // what an earlier run or a crashed start left behind goes first; what stays is said, not hidden
  const leftovers = await traced(`start ${name}: teardown of an earlier run`, () => teardown(deps, name));

  const rootfs = guestTree(deps, name);
  const ids = guestIds(deps, cfg);
  sealGuestDir(deps, name, cfg);
  if (!cfg.privileged) {
    await holdRange(deps, ids.base / IDS_PER_GUEST);
    checkReachable(rootfs, ids.base, name);
  }
  await traced(`start ${name}: ids, tree and mount`, () => ensureMounted(deps, name, cfg));
  const init = initPlan(cfg);
  const defaults = deps.host().guest_defaults;
  const limits = effectiveLimits(cfg.limits, defaults);
  const facts = tracedSync('host facts', () => deps.hostFacts(ioDevices(limits)));
  const problems = checkLimits(limits, facts);
  if (problems.length > 0) {
    const file = deps.paths.guestConfig(name);
    throw limitsError('CONFIG_INVALID', file, problems, `change those limits with 'vserver limit ${name} KEY VALUE', or edit ${file}`);
  }
  const wanted = wantedRlimits(limits, DEFAULT_RLIMITS);
  const rlimits = clampRlimits(wanted, rlimitCeiling());
  const warnings = [
    ...leftovers.map((p) => `an earlier run left something that could not be removed: ${p}`),
    ...loweredRlimits(limits, rlimits),
  ];
  const lxcfs = await traced('lxcfs', () => deps.lxcfs().prepare());
  if ('reason' in lxcfs && deps.lxcfs().mode !== 'off' && deps.lxcfs().installed()) {
    warnings.push(`${lxcfs.reason}; free, uptime and top inside the guest show the host's figures`);
  }
  const sec = cfg.security;
  // a privileged guest has no namespace of its own to count in
  const counts = cfg.privileged ? [] : countArgs(userCounts(defaults));
  const spec = tracedSync(`start ${name}: spec`, () =>
    buildSpec({
      name,
      context: cfg.context,
      rootfs,
      hostname: cfg.hostname ?? name,
      args: init.args,
      env: init.env,
      cgroupsPath: `/${deps.paths.cgroupName(name)}`,
      capabilities: capabilitySet({ add: [...init.addCapabilities, ...(sec?.capabilities?.add ?? [])], drop: sec?.capabilities?.drop }),
      seccomp: sec?.seccomp_profile ? loadSeccompProfile(sec.seccomp_profile) : defaultSeccomp(),
      rlimits,
      resources: toResources(limits, facts),
      extraMounts: [...init.tmpfs.map(tmpfsMount), ...('mounts' in lxcfs ? lxcfs.mounts : [])],
      idMappings: cfg.privileged ? undefined : idMappings(ids),
      cgroupWritable: init.delegateCgroup,
    }),
  );

  const bundle = deps.paths.bundle(name);
  await Revert.run(async (revert) => {
    revert.add('runtime state', async () => {
      const problems = await teardown(deps, name);
      if (problems.length > 0) throw new Error(problems.join('; '));
    });
    mkdirSync(bundle, { recursive: true, mode: 0o700 });
    const net = await traced(`start ${name}: network (before the runtime)`, () => setupNetwork(deps, name, cfg, ids.base, counts));
    crashPoint('start:network');
    // the network's hook sets the counts as it goes in: one hook process per start, not two
    const hooks = (net.hooks ?? []).length > 0 || counts.length === 0 ? net.hooks : [userCountsHook(which('sh') ?? '/bin/sh', counts)];
    writeFileAtomic(join(bundle, 'config.json'), ociJson(withNetwork(spec, { ...net, hooks })), 0o600, { durable: false });
    mkdirSync(deps.paths.logDir, { recursive: true });
    const log = openSync(deps.paths.log(name), 'a+', 0o640);
    try {
      writeSync(log, `--- ${new Date().toISOString()} vserver: starting guest ${name} (context ${cfg.context})\n`);
      const io = { stdin: 'ignore', stdout: log, stderr: log, rlimits } as const;
      await traced(`start ${name}: runtime (with the network hook)`, () =>
        launch(net, async () => {
          if (!init.delegateCgroup) return rt.run(name, bundle, io);
          // the cgroup exists once the runtime has created the container; hand it over before init runs
          await rt.create(name, bundle, io);
          deps.cgroups().delegate(deps.paths.cgroupName(name), ids.base, ids.base);
          await rt.start(name);
        }),
      );
    } finally {
      closeSync(log);
    }
    crashPoint('start:launched');
  });
  const after = await traced(`start ${name}: runtime state after`, () => rt.state(name));
  if (!isActive(after)) {
    throw withCleanupProblems(
      new VsError(
        'RUNTIME_FAILED',
        `guest '${name}' stopped right after it started`,
        `its init exited; read ${deps.paths.log(name)} for why`,
      ),
      await teardown(deps, name),
    );
  }
  const info: GuestInfo = { ...guestInfo(name, cfg, after, ids), interfaces: interfacesInfo(deps, name, cfg, true) };
  if (warnings.length > 0) info.warnings = warnings;
  return info;
}
