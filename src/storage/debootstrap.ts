// Building a Debian or Ubuntu tree with debootstrap. It runs in a mount and pid namespace of its
// own, tied to our life: if we are killed, it dies with everything it started, and the mounts it
// made inside the target go with its namespace, so nothing is left mounted on the host.
import { existsSync, mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { VsError } from '../util/errors.js';
import { noSpaceError } from '../util/space.js';
import { launch, tied } from '../util/proc.js';
import type { Progress } from '../util/progress.js';

export const SCRIPTS_DIR = '/usr/share/debootstrap/scripts';

export interface DebootstrapOptions {
  suite: string;
  mirror: string;
  variant?: string;
  include: string[];
  cacheDir?: string;
  onProgress?: (p: Progress) => void;
  /** Kills debootstrap (and all it started: unshare --kill-child) when aborted. */
  signal?: AbortSignal;
}

const BYTE_PHASES = new Set(['DOWNPKGS', 'DOWNDEBS']);

/** Reads debootstrap's --debian-installer protocol (fd 3) line by line (pure). */
export class ProgressParser {
  private phase = '';
  private stage = '';
  private pending: { kind: string; name: string; args: string[] } | undefined;
  /** Counts of a P: line that opened a new phase; reported once its PF: line names it. */
  private opening: { now: number; end: number } | undefined;
  /** The last error debootstrap reported, formatted. */
  error: string | undefined;

  feed(line: string): Progress | undefined {
    const m = /^([A-Z]+): ?(.*)$/.exec(line);
    if (!m) return undefined;
    const [, tag, rest] = m as unknown as [string, string, string];
    switch (tag) {
      case 'P': {
        const [now, end, phase] = rest.split(' ');
        this.pending = { kind: 'P', name: phase ?? '', args: [] };
        const n = Number(now);
        const e = Number(end);
        if (!Number.isFinite(n) || !Number.isFinite(e)) return undefined;
        if (phase) {
          if (phase === this.phase) return undefined; // the closing line of a phase repeats its name
          this.phase = phase;
          this.opening = { now: n, end: e };
          return undefined;
        }
        return { stage: this.stage, now: Math.min(n, e), end: e, unit: this.unit() };
      }
      case 'E':
      case 'I':
      case 'W':
        this.pending = { kind: tag, name: rest, args: [] };
        return undefined;
      case 'PA':
      case 'EA':
      case 'IA':
      case 'WA':
        this.pending?.args.push(rest);
        return undefined;
      case 'PF': {
        this.stage = format(rest, this.pending?.args ?? []);
        const o = this.opening;
        this.opening = undefined;
        return o ? { stage: this.stage, now: Math.min(o.now, o.end), end: o.end, unit: this.unit() } : undefined;
      }
      case 'EF':
        this.error = format(rest, this.pending?.args ?? []);
        return undefined;
      default:
        return undefined;
    }
  }

  private unit(): Progress['unit'] {
    if (BYTE_PHASES.has(this.phase)) return 'bytes';
    return /EXTRACTPKGS|REQ|BASE/.test(this.phase) ? 'packages' : 'steps';
  }
}

function format(fmt: string, args: string[]): string {
  let i = 0;
  return fmt
    .replace(/%s/g, () => args[i++] ?? '')
    .replace(/\s+/g, ' ')
    .trim();
}

export function checkSuite(suite: string): void {
  if (!/^[a-z][a-z0-9.-]*$/.test(suite) || !existsSync(`${SCRIPTS_DIR}/${suite}`)) {
    throw new VsError(
      'INVALID_VALUE',
      `unknown suite '${suite}': debootstrap has no script for it`,
      `use a Debian or Ubuntu release name that ${SCRIPTS_DIR} has, for example bookworm or jammy`,
    );
  }
}

export function checkMirror(mirror: string): void {
  if (!/^(https?|file):\/\/[^\s]+$/.test(mirror)) {
    throw new VsError(
      'INVALID_VALUE',
      `mirror '${mirror}' is not an http://, https:// or file:// URL`,
      'for example --mirror http://deb.debian.org/debian',
    );
  }
}

export async function debootstrap(target: string, o: DebootstrapOptions): Promise<void> {
  checkSuite(o.suite);
  checkMirror(o.mirror);
  if (!existsSync('/usr/sbin/debootstrap')) {
    throw new VsError('DEPENDENCY_MISSING', 'debootstrap is not installed', 'apt-get install debootstrap');
  }
  const args = ['--debian-installer', `--variant=${o.variant ?? 'minbase'}`];
  if (o.include.length > 0) args.push(`--include=${o.include.join(',')}`);
  if (o.cacheDir) {
    mkdirSync(o.cacheDir, { recursive: true, mode: 0o755 });
    args.push(`--cache-dir=${o.cacheDir}`);
  }
  args.push(o.suite, target, o.mirror);
  const [cmd, argv] = tied('unshare', [
    '--mount',
    '--propagation',
    'private',
    '--pid',
    '--fork',
    '--kill-child=SIGKILL',
    '--mount-proc',
    '--',
    '/usr/sbin/debootstrap',
    ...args,
  ]);
  const { child, exit } = launch(cmd, argv, {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, LC_ALL: 'C' },
    stderrChunks: 0,
    missing: () => new VsError('DEPENDENCY_MISSING', 'unshare or setpriv is missing', 'apt-get install util-linux'),
  });
  const parser = new ProgressParser();
  const log: string[] = [];
  const keep = (l: string) => {
    log.push(l);
    if (log.length > 40) log.shift();
  };
  createInterface({ input: child.stdout! }).on('line', keep);
  createInterface({ input: child.stderr! }).on('line', keep);
  createInterface({ input: child.stdio[3] as NodeJS.ReadableStream }).on('line', (l) => {
    const p = parser.feed(l);
    if (p) o.onProgress?.(p);
  });
  const onAbort = () => child.kill('SIGKILL');
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const { code } = await exit.finally(() => o.signal?.removeEventListener('abort', onAbort));
  o.signal?.throwIfAborted();
  if (code === 0) return;
  throw describeFailure(parser.error, log, o, target);
}

function describeFailure(error: string | undefined, log: string[], o: DebootstrapOptions, target: string): VsError {
  const text = error ?? log.filter((l) => /^E: |error/i.test(l)).slice(-1)[0] ?? log.slice(-2).join('; ');
  if (
    /release file|Failed getting|Could not connect|Connection refused|unable to resolve|Temporary failure/i.test(
      `${text}\n${log.join('\n')}`,
    )
  ) {
    return new VsError(
      'BUILD_FAILED',
      `debootstrap cannot fetch ${o.suite} from ${o.mirror}: ${text}`,
      'check that the mirror is reachable from this host and has that suite (--mirror URL)',
    );
  }
  if (/No space left on device/i.test(log.join('\n'))) {
    return noSpaceError(undefined, target, `debootstrap wrote ${o.suite} into ${target} (nothing was kept)`);
  }
  if (/Couldn't find these debs|Couldn't find package/i.test(log.join('\n'))) {
    return new VsError('BUILD_FAILED', `debootstrap: ${text}`, 'a package named in --include does not exist in that suite');
  }
  return new VsError('BUILD_FAILED', `debootstrap failed: ${text}`, 'nothing was kept; the lines above say more');
}

/** Packages each init style needs in a debootstrap build (minbase has no init at all). */
export function initPackages(init: string): string[] {
  if (init === 'sysv') return ['sysvinit-core'];
  if (init === 'systemd') return ['systemd-sysv'];
  return [];
}
