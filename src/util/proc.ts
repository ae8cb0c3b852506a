// Starting programs, always with an argument array, never a shell string, and all through one seam
// (start) that a test can replace with a recording double.
import { constants } from 'node:os';
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { VsError, errnoOf } from './errors.js';
import { traced } from './trace.js';

/** How a program is started: its stdio (default: all three piped), environment, directory. */
export interface StartOptions {
  stdio: StdioOptions;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  detached?: boolean;
}

/** What starts a program; the real one spawns it. */
export type Launcher = (file: string, args: readonly string[], opts: StartOptions) => ChildProcess;

const spawnLauncher: Launcher = (file, args, opts) => spawn(file, args, opts);
let launcher: Launcher = spawnLauncher;

/** The launcher in place now: what a launcher put in front of it falls back to. */
export function launcherInUse(): Launcher {
  return launcher;
}

/** Puts another launcher in place (a test's recording double); returns what puts the previous one back. */
export function useLauncher(l: Launcher): () => void {
  const previous = launcher;
  launcher = l;
  return () => {
    launcher = previous;
  };
}

/** How a program ended, with what it wrote to a piped stdout and stderr. */
export interface Exit {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Started {
  child: ChildProcess;
  /** Resolves when the program has ended (also for a non-zero exit); rejects only when it could not start. */
  exit: Promise<Exit>;
}

export interface LaunchOptions extends Partial<StartOptions> {
  /** Resolve at the program's exit, not once its stdio closes: a detached child may keep those open. */
  untilExit?: boolean;
  /** Collect a piped stdout into Exit.stdout; off by default, so that a stdout piped on to another program is left alone. */
  captureStdout?: boolean;
  /** Keep only the last this many chunks of a piped stderr (0: none, for a stream read elsewhere); default all. */
  stderrChunks?: number;
  /** The error for a program that is not installed; default DEPENDENCY_MISSING naming it. */
  missing?: () => Error;
}

/** Starts a program through the launcher, and watches its end. Every program vserver runs goes through here. */
export function launch(file: string, args: readonly string[], opts: LaunchOptions = {}): Started {
  const child = launcher(file, args, {
    stdio: opts.stdio ?? ['pipe', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    detached: opts.detached,
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  if (opts.captureStdout) child.stdout?.on('data', (b: Buffer) => out.push(b));
  if (opts.stderrChunks !== 0) {
    child.stderr?.on('data', (b: Buffer) => {
      err.push(b);
      if (opts.stderrChunks !== undefined && err.length > opts.stderrChunks) err.shift();
    });
  }
  const exit = new Promise<Exit>((resolve, reject) => {
    child.on('error', (e) => {
      if (errnoOf(e) !== 'ENOENT') reject(e);
      else
        reject(
          opts.missing?.() ??
            new VsError('DEPENDENCY_MISSING', `cannot run '${file}': not found`, `install the package that provides ${file}`),
        );
    });
    const done = (code: number | null, signal: NodeJS.Signals | null) =>
      resolve({
        code: code ?? 128 + signalNumber(signal),
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    if (opts.untilExit) {
      // what is still in the pipe is read before the streams are let go
      child.on('exit', (code, signal) =>
        setImmediate(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          done(code, signal);
        }),
      );
    } else child.on('close', done);
  });
  exit.catch(() => undefined); // observed by whoever awaits it
  return { child, exit };
}

export type RunResult = Exit;

export interface RunOptions extends LaunchOptions {
  /** What goes to its stdin; a promise keeps the program started and waiting until it resolves (rejected: killed). */
  input?: string | Buffer | Promise<string | Buffer>;
  /** Kill the process (SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
}

/** Runs a program to completion and captures its output. Never throws for a non-zero exit. */
export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return traced(`run ${file} ${args.slice(0, 4).join(' ')}`, () => runUntraced(file, args, opts));
}

async function runUntraced(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const { child, exit } = launch(file, args, {
    captureStdout: true,
    ...opts,
    stdio: opts.stdio ?? [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
  if (opts.input !== undefined && child.stdin) {
    const stdin = child.stdin;
    stdin.on('error', () => undefined); // the child may exit without reading
    if (opts.input instanceof Promise)
      opts.input.then(
        (i) => stdin.end(i),
        () => child.kill('SIGKILL'),
      );
    else stdin.end(opts.input);
  }
  try {
    return await exit;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** The last n lines of a program's output that say something, joined for one line of an error. */
export function lastLines(text: string, n = 3): string {
  return text
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-n)
    .join('; ');
}

/** Like run, but a non-zero exit becomes an error carrying the program's own message. */
export async function runOk(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(file, args, opts);
  if (r.code !== 0) {
    const detail = lastLines(r.stderr) || lastLines(r.stdout);
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
