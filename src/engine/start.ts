// Starting a guest: config -> OCI bundle -> runtime; every host change is undone on failure.
import { closeSync, lstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { initPlan } from '../guest/init.js';
import { checkName } from '../guest/name.js';
import { buildSpec, clampRlimits, DEFAULT_RLIMITS, withNetwork } from '../runtime/spec.js';
import { DEFAULT_CAPABILITIES } from '../security/capabilities.js';
import { defaultSeccomp } from '../security/seccomp.js';
import { writeFileAtomic } from '../util/atomic.js';
import { VsError, errnoOf } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import { ownRlimits } from '../util/procfs.js';
import { Revert } from '../util/revert.js';
import type { Deps } from './deps.js';
import { interfacesInfo } from './network-info.js';
import { launch, setupNetwork } from './network.js';
import { guestInfo, isActive } from './state.js';
import { teardown } from './teardown.js';
import type { GuestInfo } from './types.js';

export function startGuest(deps: Deps, name: string): Promise<GuestInfo> {
  checkName(name);
  return withLock(deps.paths.lock(name), `vserver start ${name}`, () => startLocked(deps, name));
}

function checkRootfs(path: string, name: string): void {
  let isDir = false;
  try {
    isDir = lstatSync(path).isDirectory();
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
  if (!isDir) {
    throw new VsError('ROOTFS_MISSING', `guest '${name}' has no root directory at ${path} (missing, or not a directory)`,
      `restore the guest's tree there, or delete the guest with 'vserver delete ${name}' and build it again`);
  }
}

export async function startLocked(deps: Deps, name: string): Promise<GuestInfo> {
  const cfg = deps.store.read(name);
  const rt = await deps.runtime();
  const before = await rt.state(name);
  if (isActive(before)) {
    throw new VsError('ALREADY_RUNNING', `guest '${name}' is already running (init pid ${before.pid})`,
      `use 'vserver restart ${name}' to restart it`);
  }
  // what an earlier run or a crashed start left behind goes first
  await teardown(deps, name);

  const rootfs = deps.paths.rootfs(name);
  checkRootfs(rootfs, name);
  const init = initPlan(cfg);
  const spec = buildSpec({
    name, context: cfg.context, rootfs, hostname: cfg.hostname ?? name, args: init.args, env: init.env,
    cgroupsPath: `/${deps.paths.cgroupName(name)}`, capabilities: DEFAULT_CAPABILITIES, seccomp: defaultSeccomp(),
    rlimits: clampRlimits(DEFAULT_RLIMITS, ownRlimits()),
  });

  const bundle = deps.paths.bundle(name);
  await Revert.run(async (revert) => {
    revert.add('runtime state', () => teardown(deps, name).then(() => undefined));
    mkdirSync(bundle, { recursive: true, mode: 0o700 });
    const net = await setupNetwork(deps, name, cfg);
    writeFileAtomic(join(bundle, 'config.json'), JSON.stringify(withNetwork(spec, net), null, 1));
    mkdirSync(deps.paths.logDir, { recursive: true });
    const log = openSync(deps.paths.log(name), 'a+', 0o640);
    try {
      writeSync(log, `--- ${new Date().toISOString()} vserver: starting guest ${name} (context ${cfg.context})\n`);
      await launch(rt, name, bundle, { stdin: 'ignore', stdout: log, stderr: log }, net);
    } finally {
      closeSync(log);
    }
  });
  const after = await rt.state(name);
  if (!isActive(after)) {
    await teardown(deps, name);
    throw new VsError('RUNTIME_FAILED', `guest '${name}' stopped right after it started`,
      `its init exited; read ${deps.paths.log(name)} for why`);
  }
  return { ...guestInfo(name, cfg, after), interfaces: interfacesInfo(deps, name, cfg, true) };
}
