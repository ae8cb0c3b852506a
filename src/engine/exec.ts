// Running a command in a running guest; its exit code is passed through.
import { existsSync } from 'node:fs';
import { checkName } from '../guest/name.js';
import { ensureMounted } from './mount.js';
import type { ExecIO } from '../runtime/types.js';
import { VsError, isVsError } from '../util/errors.js';
import { limitCounters, limitReached } from './exec-limits.js';
import type { Deps } from './deps.js';
import { isActive } from './state.js';

export async function execGuest(deps: Deps, name: string, argv: readonly string[], io: ExecIO): Promise<number> {
  checkName(name);
  if (argv.length === 0) {
    throw new VsError('USAGE', 'no command given', `put the command after --, for example: vserver exec ${name} -- ps`);
  }
  const runtime = await deps.runtime();
  // exec is the hot path: the config is read only to tell "not found" from "not running"
  if (!isActive(await runtime.state(name))) {
    deps.store.read(name);
    throw new VsError('NOT_RUNNING', `guest '${name}' is not running`, `start it with 'vserver start ${name}'`);
  }
  // an overlay guest (it has an upper directory) keeps its merged tree mounted on the host too
  if (existsSync(deps.paths.upper(name))) await ensureMounted(deps, name, deps.store.read(name));
  const cgName = deps.paths.cgroupName(name);
  const before = limitCounters(deps.cgroups(), cgName);
  let code: number;
  try {
    code = await runtime.exec(name, argv, io);
  } catch (e) {
    throw (isVsError(e, 'RUNTIME_FAILED') && limitReached(deps.cgroups(), cgName, name, before)?.error) || e;
  }
  // 137: killed by the OOM killer at the guest's limit; 255: the runtime's own failure at the pids limit
  if (code === 137 || code === 255) {
    const hit = limitReached(deps.cgroups(), cgName, name, before);
    if (hit && (code === 137) === (hit.limit === 'memory')) throw hit.error;
  }
  return code;
}

/** The shell `enter` opens: a login shell on a pseudo-terminal. */
export function enterGuest(deps: Deps, name: string, io: Omit<ExecIO, 'tty'>): Promise<number> {
  const term = process.env.TERM ?? 'xterm';
  return execGuest(deps, name, ['/bin/sh', '-l'], { ...io, tty: true, env: [`TERM=${term}`, ...(io.env ?? [])] });
}
