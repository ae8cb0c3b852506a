// Running a command in a running guest; its exit code is passed through.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkName } from '../guest/name.js';
import { ensureMounted } from './mount.js';
import { rlimitsFromJson } from '../oci/rlimit.js';
import type { OciRlimit } from '../oci/types.js';
import type { ExecIO } from '../runtime/types.js';
import { FileCache } from '../util/file-cache.js';
import { lstatIfExists } from '../util/fs.js';
import { VsError, isVsError } from '../util/errors.js';
import { limitCounters, limitReached } from './exec-limits.js';
import type { Deps } from './deps.js';
import { isActive } from './state.js';
import { hostRootMapped, parseBundleSpec } from './bundle.js';

export interface ExecOptions {
  /** Told why a command ended as it did, when the kernel's counters say (the OOM killer at the guest's limit). */
  notice?: (text: string) => void;
}

export async function execGuest(deps: Deps, name: string, argv: readonly string[], io: ExecIO, opts: ExecOptions = {}): Promise<number> {
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
    code = await runtime.exec(name, argv, { ...guestProcess(deps, name), ...io });
  } catch (e) {
    throw (isVsError(e, 'RUNTIME_FAILED') && limitReached(deps.cgroups(), cgName, name, before, false)?.error) || e;
  }
  // 255 is also the runtime's own status when its set-up process failed (with a terminal, its
  // words went there); a command killed by the OOM killer keeps its 137, and is told why
  if (code === 255 || code === 137) {
    const hit = limitReached(deps.cgroups(), cgName, name, before, code === 137);
    if (hit && code === 255) throw hit.error;
    if (hit?.limit === 'memory') opts.notice?.(`${hit.error.message}\n  ${hit.error.hint}`);
  }
  return code;
}

/** Of a guest's bundle, what an exec needs: its init's rlimits and where its root is. */
interface BundleFacts {
  rlimits: OciRlimit[];
  root: string | undefined;
  hostRootMapped: boolean;
}
const bundles = new FileCache<BundleFacts | undefined>();

/** Without a readable bundle, the runtime's own defaults apply. */
function bundleFacts(text: string): BundleFacts | undefined {
  const read = parseBundleSpec(text);
  if (!read.ok) return undefined;
  return { rlimits: rlimitsFromJson(read.value.process.rlimits), root: read.value.root?.path, hostRootMapped: hostRootMapped(read.value) };
}

/**
 * What every process started in a running guest shares with its init: the limits it was started with
 * (kept in its bundle, and updated by `vserver limit`), and whether its tree has a shell.
 */
function guestProcess(deps: Deps, name: string): Pick<ExecIO, 'rlimits' | 'guestShell' | 'hostRootMapped'> {
  let facts: BundleFacts | undefined;
  try {
    // a daemon execs often in the same guest: the bundle is parsed again only when it changed
    facts = bundles.get(join(deps.paths.bundle(name), 'config.json'), bundleFacts);
  } catch {
    return {};
  }
  if (!facts) return {};
  // lstat: a link the guest planted at /bin/sh still means "there is a shell", and is not followed on the host
  const guestShell = facts.root !== undefined && lstatIfExists(join(facts.root, 'bin', 'sh')) !== undefined;
  return { rlimits: facts.rlimits, guestShell, hostRootMapped: facts.hostRootMapped };
}

/** The shell `enter` opens: a login shell on a pseudo-terminal. */
export function enterGuest(deps: Deps, name: string, io: Omit<ExecIO, 'tty'>): Promise<number> {
  const term = process.env.TERM ?? 'xterm';
  return execGuest(deps, name, ['/bin/sh', '-l'], { ...io, tty: true, env: [`TERM=${term}`, ...(io.env ?? [])] });
}
