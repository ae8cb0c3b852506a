// Spawning processes, always with an argument array, never a shell string.
import { constants } from 'node:os';
import { spawn, type StdioOptions } from 'node:child_process';
import { VsError, errnoOf } from './errors.js';
import { traced } from './trace.js';

export interface RunResult {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the process (SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
  /** stdio for the child; default pipes all three so output is captured. */
  stdio?: StdioOptions;
}

/** Runs a program to completion and captures its output. Never throws for a non-zero exit. */
export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return traced(`run ${file} ${args.slice(0, 4).join(' ')}`, () => runUntraced(file, args, opts));
}

function runUntraced(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: opts.stdio ?? [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      if (errnoOf(e) === 'ENOENT') {
        reject(new VsError('DEPENDENCY_MISSING', `cannot run '${file}': not found`, `install the package that provides ${file}`));
      } else reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        code: code ?? 128 + signalNumber(signal),
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // the child may exit without reading
      child.stdin.end(opts.input);
    }
  });
}

/** Like run, but a non-zero exit becomes an error carrying the program's own message. */
export async function runOk(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(file, args, opts);
  if (r.code !== 0) {
    const detail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join('; ');
    throw new VsError('INTERNAL', `${file} ${args.slice(0, 3).join(' ')} failed (exit ${r.code}): ${detail}`);
  }
  return r;
}

/** The kernel's signal numbers, by name (SIGTERM: 15), as Node knows them for this platform. */
const SIGNALS: Readonly<Record<string, number>> = constants.signals;

export function signalNumber(sig: string | null): number {
  if (sig === null) return 0;
  return SIGNALS[sig] ?? 0;
}

/**
 * Parses a signal given as a number, NAME, SIGNAME or RTMIN+n, and returns its canonical
 * form for `kill`-style tools (for example "PWR", "RTMIN+3", "15"), or undefined if unknown.
 */
export function parseSignal(input: string): { name: string; number: number } | undefined {
  const s = input.trim().toUpperCase().replace(/^SIG/, '');
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n >= 1 && n <= 64 ? { name: String(n), number: n } : undefined;
  }
  const rt = /^RTMIN(?:\+(\d+))?$/.exec(s);
  if (rt) {
    const n = 34 + Number(rt[1] ?? 0);
    return n <= 64 ? { name: `RTMIN+${Number(rt[1] ?? 0)}`, number: n } : undefined;
  }
  const num = SIGNALS[`SIG${s}`];
  return num === undefined ? undefined : { name: s, number: num };
}

/**
 * The argument vector that runs `file` so that it is killed with SIGKILL when this process dies
 * (even by SIGKILL): a killed build must not leave a tar or debootstrap writing behind it.
 */
export function tied(file: string, args: readonly string[]): [string, string[]] {
  return ['setpriv', ['--pdeathsig', 'KILL', '--', file, ...args]];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
