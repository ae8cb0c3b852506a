// vserver check --escape: the escape suite's attempts, run as root in a throw-away guest built with
// this host's defaults (or with the security settings of a guest named), then the guest is removed.
import { closeSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { majorMinor } from '../resources/host-facts.js';
import { ATTEMPTS, bundledHelper, installHelper, MARKER_TEXT, parseSeq, seqArgs, type EscapeFacts } from '../security/escape-attempts.js';
import { isVsError, VsError } from '../util/errors.js';
import { crashPoint } from '../util/crash.js';
import { launch, run } from '../util/proc.js';
import { buildGuest } from './build.js';
import { deleteGuest } from './delete.js';
import type { Deps } from './deps.js';
import { escapeGuestName, sweepEscapeGuests } from './escape-guests.js';
import { execGuest } from './exec.js';
import { startGuest } from './start.js';
import { guestIds } from './state.js';

export interface EscapeRow {
  attempt: string;
  result: 'blocked' | 'ESCAPED' | 'skipped' | 'no answer';
  /** What refused it (the errno and the call), what got through, or why it was not tried. */
  detail: string;
}

export interface EscapeRun {
  mode: 'unprivileged' | 'privileged';
  /** The guest whose security settings the throw-away guest had. */
  like?: string;
  rows: EscapeRow[];
}

export interface EscapeOptions {
  privileged?: boolean;
  like?: string;
}

/** One row per attempt from the helper's lines (pure). */
export function escapeRows(
  lines: ReadonlyMap<string, string>,
  attempts: readonly { name: string; key: string; skipped?: string }[],
): EscapeRow[] {
  return attempts.map((a) => {
    if (a.skipped) return { attempt: a.name, result: 'skipped', detail: a.skipped };
    const line = lines.get(a.key);
    const m = line === undefined ? null : /^(BLOCKED|ESCAPED) ?(.*)$/.exec(line);
    if (!m) return { attempt: a.name, result: 'no answer', detail: line ?? 'the helper printed nothing for it' };
    return { attempt: a.name, result: m[1] === 'BLOCKED' ? 'blocked' : 'ESCAPED', detail: m[2]! };
  });
}

const QUIT: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export async function escapeCheck(deps: Deps, opts: EscapeOptions = {}): Promise<EscapeRun[]> {
  const helper = bundledHelper();
  if (!helper) {
    throw new VsError(
      'DEPENDENCY_MISSING',
      'this vserver was built without its escape helper (dist/escape)',
      'build the package where a C compiler is installed (apt-get install gcc libc6-dev; npm run build)',
    );
  }
  const like = opts.like === undefined ? undefined : deps.store.read(opts.like);
  await sweepEscapeGuests(deps);
  const modes: EscapeRun['mode'][] = like
    ? [like.privileged ? 'privileged' : 'unprivileged']
    : opts.privileged
      ? ['unprivileged', 'privileged']
      : ['unprivileged'];
  const out: EscapeRun[] = [];
  for (const mode of modes) {
    const rows = await inThrowawayGuest(deps, helper, mode === 'privileged', (name) => {
      if (!like) return;
      deps.store.write(name, { ...deps.store.document(name).doc, ...(like.security ? { security: like.security } : {}) });
    });
    out.push({ mode, ...(opts.like ? { like: opts.like } : {}), rows });
  }
  return out;
}

async function inThrowawayGuest(deps: Deps, helper: string, privileged: boolean, configure: (name: string) => void): Promise<EscapeRow[]> {
  const name = escapeGuestName(privileged);
  // a host process for the attempts to aim at; it ends when its stdin closes, so also when we are killed outright
  const sleeper = launch(process.execPath, ['-e', "process.stdin.on('end', () => process.exit(0)).resume()"], {
    stdio: ['pipe', 'ignore', 'ignore'],
  }).child;
  let removing: Promise<unknown> | undefined;
  // a guest that was never built is not there to remove; any other failure is returned
  const remove = () =>
    (removing ??= deleteGuest(deps, name, { force: true }).then(
      () => undefined,
      (e: unknown) => (isVsError(e, 'NOT_FOUND') ? undefined : e),
    ));
  const onSignal = (sig: NodeJS.Signals) => {
    sleeper.kill('SIGKILL');
    void remove().finally(() => process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGHUP' ? 1 : 15)));
  };
  for (const s of QUIT) process.once(s, onSignal);
  try {
    await buildGuest(deps, name, { backend: 'dir', privileged });
    configure(name);
    const dir = deps.paths.guestDir(name);
    // a host file beside the guest's tree, on its filesystem, for the "shocker" attempt to look for
    const marker = join(dir, 'host-marker');
    writeFileSync(marker, MARKER_TEXT);
    const handle = (await run(helper, ['handle', marker])).stdout.trim().split(' ');
    const [diskMajor, diskMinor] = majorMinor(statSync(dir, { bigint: true }).dev);
    const facts: EscapeFacts = { sleeperPid: sleeper.pid!, diskMajor, diskMinor, handle, helper, dir };
    installHelper(helper, deps.paths.rootfs(name), guestIds(deps, deps.store.read(name)).base);
    await startGuest(deps, name);
    crashPoint('check-escape:running');
    const attempts = [];
    for (const a of ATTEMPTS) attempts.push({ name: a.name, key: a.args(facts)[0]!, skipped: await a.notHere?.(facts), attempt: a });
    const tried = attempts.filter((a) => !a.skipped).map((a) => a.attempt);
    const answer = join(dir, 'answer');
    const fd = openSync(answer, 'w', 0o600);
    try {
      await execGuest(deps, name, ['/usr/local/bin/escape', ...seqArgs(tried, facts)], { stdin: 'ignore', stdout: fd, stderr: 'ignore' });
    } finally {
      closeSync(fd);
    }
    return escapeRows(parseSeq(readFileSync(answer, 'utf8')), attempts);
  } finally {
    sleeper.kill('SIGKILL');
    const failed = await remove();
    for (const s of QUIT) process.off(s, onSignal);
    // biome-ignore lint/correctness/noUnsafeFinally: a guest left behind must be reported over the run's own error
    if (failed) throw failed; // `vserver gc` removes the guest, as its maker has gone by then
  }
}
