// One driver for runc and crun: both take the same command line for what we use.
import {
  closeSync,
  existsSync,
  fchownSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { VsError, errnoOf } from '../util/errors.js';
import { launch, run } from '../util/proc.js';
import { processStartTime } from '../util/procfs.js';
import type { OciResources } from '../oci/types.js';
import { execShimArgv, execShimFd, lostSoftNofile, softNofileArgv, withExactLimits, withRaisedLimits } from './rlimit-launch.js';
import type { ExecIO, Runtime, RuntimeState } from './types.js';

/** The runtime's own error text, without its log-format decoration. */
export function runtimeMessage(stderr: string): string {
  const lines = stderr
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '');
  const last = lines[lines.length - 1] ?? '';
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(last);
  return (m ? m[1]!.replace(/\\"/g, '"') : last).replace(/^(runc|crun)( run| exec| create)?( failed)?: /, '');
}

/** The owners of the files given as init's stdout and stderr, to put back after crun has changed them. */
function stdioOwners(io: ExecIO): { fd: number; uid: number; gid: number }[] {
  const fds = [...new Set([io.stdout, io.stderr].filter((x): x is number => typeof x === 'number'))];
  return fds.map((fd) => {
    const st = fstatSync(fd);
    return { fd, uid: st.uid, gid: st.gid };
  });
}

function restoreOwners(owners: readonly { fd: number; uid: number; gid: number }[]): void {
  for (const o of owners) {
    const st = fstatSync(o.fd);
    if (st.uid !== o.uid || st.gid !== o.gid) fchownSync(o.fd, o.uid, o.gid);
  }
}

/** NAME=VALUE lists, the later's values over the earlier's. */
export function mergeEnv(base: readonly string[], over: readonly string[]): string[] {
  const key = (e: string) => e.slice(0, e.indexOf('=') >>> 0);
  const m = new Map(base.map((e) => [key(e), e]));
  for (const e of over) m.set(key(e), e);
  return [...m.values()];
}

function notExist(stderr: string): boolean {
  return /does not exist|not found|No such file or directory/i.test(stderr);
}

export class OciCli implements Runtime {
  constructor(
    readonly name: 'runc' | 'crun',
    readonly path: string,
    /** --root: where the runtime keeps the state of this installation's containers. */
    private readonly stateRoot: string,
  ) {}

  private args(...rest: string[]): string[] {
    return ['--root', this.stateRoot, ...rest];
  }

  private fail(what: string, id: string, stderr: string): never {
    throw new VsError(
      'RUNTIME_FAILED',
      `${this.name} could not ${what} guest '${id}': ${runtimeMessage(stderr)}`,
      `see ${this.name}'s message above; 'vserver status ${id}' shows what is left`,
    );
  }

  async run(id: string, bundleDir: string, io: ExecIO): Promise<void> {
    return this.launch('run', id, bundleDir, io);
  }

  async create(id: string, bundleDir: string, io: ExecIO): Promise<void> {
    return this.launch('create', id, bundleDir, io);
  }

  async start(id: string): Promise<void> {
    const r = await run(this.path, this.args('start', id));
    if (r.code !== 0) this.fail('start', id, r.stderr);
  }

  private async launch(verb: 'run' | 'create', id: string, bundleDir: string, io: ExecIO): Promise<void> {
    mkdirSync(this.stateRoot, { recursive: true, mode: 0o700 });
    // init inherits the runtime's stdio, so the runtime's stderr is the guest's log; what the
    // runtime writes there on failure is read back from the offset where this attempt began
    const from = typeof io.stderr === 'number' ? fstatSync(io.stderr).size : undefined;
    const [file, args] = withRaisedLimits(
      this.path,
      this.args(verb, ...(verb === 'run' ? ['--detach'] : []), '--bundle', bundleDir, id),
      io.rlimits ?? [],
    );
    // crun (before 1.24) hands init's stdio to the guest's root before it joins the user namespace, so
    // it would take the host's /dev/null: an empty pipe reads the same; the log's owner is put back after
    const crunNull = this.name === 'crun' && io.stdin === 'ignore';
    const owners = this.name === 'crun' ? stdioOwners(io) : [];
    // until the runtime itself exits, not its stdio: a detached init inherits those and keeps them open
    const r = await run(file, args, {
      stdio: [crunNull ? 'pipe' : io.stdin, io.stdout, typeof io.stderr === 'number' ? io.stderr : 'pipe'],
      ...(crunNull ? { input: '' } : {}),
      untilExit: true,
      missing: () => missing(file, file),
    }).finally(() => restoreOwners(owners));
    if (r.code !== 0) {
      const text = from !== undefined && typeof io.stderr === 'number' ? readFrom(io.stderr, from) : r.stderr;
      this.fail(verb === 'run' ? 'start' : 'create', id, text);
    }
  }

  /**
   * The container's state from the runtime's own state file and /proc, without spawning the
   * runtime: null when there is no container, undefined when the file cannot be read with
   * certainty (then the runtime is asked). A frozen (paused) container reads as running.
   */
  stateFromFile(id: string): RuntimeState | null | undefined {
    // ids are guest names or the runtime's own directory entries: nothing to normalise, and a listing makes a thousand
    const dir = `${this.stateRoot}/${id}`;
    let text: string;
    try {
      const file = `${dir}/${this.name === 'runc' ? 'state.json' : 'status'}`;
      const head = this.name === 'runc' ? runcStateHead(file) : undefined;
      if (head) return this.checked(id, dir, head.pid, head.start, head.created);
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') return undefined;
      return existsSync(dir) ? undefined : null; // a directory without the file is being created
    }
    try {
      const s = JSON.parse(text) as Record<string, unknown>;
      const pid = this.name === 'runc' ? s.init_process_pid : s.pid;
      const start = this.name === 'runc' ? s.init_process_start : s['process-start-time'];
      if (typeof pid !== 'number' || typeof start !== 'number') return undefined;
      return this.checked(id, dir, pid, start, typeof s.created === 'string' ? s.created : '');
    } catch {
      return undefined;
    }
  }

  private checked(id: string, dir: string, pid: number, start: number, created: string): RuntimeState {
    const alive = processStartTime(pid) === String(start);
    // both runtimes keep exec.fifo until the container is started
    const status = !alive ? 'stopped' : existsSync(`${dir}/exec.fifo`) ? 'created' : 'running';
    return { id, pid, status, created, ...(alive ? { start } : {}) };
  }

  async state(id: string): Promise<RuntimeState | undefined> {
    const fast = this.stateFromFile(id);
    if (fast !== undefined) return fast ?? undefined;
    const r = await run(this.path, this.args('state', id));
    if (r.code !== 0) {
      if (notExist(r.stderr)) return undefined;
      this.fail('read the state of', id, r.stderr);
    }
    return JSON.parse(r.stdout) as RuntimeState;
  }

  async list(): Promise<RuntimeState[]> {
    let ids: string[];
    try {
      ids = readdirSync(this.stateRoot);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return [];
      throw e;
    }
    const fast = ids.map((id) => this.stateFromFile(id));
    if (fast.every((x) => x !== undefined)) return fast.filter((x): x is RuntimeState => x !== null);
    const r = await run(this.path, this.args('list', '--format', 'json'));
    if (r.code !== 0) {
      if (notExist(r.stderr)) return [];
      throw new VsError('RUNTIME_FAILED', `${this.name} list failed: ${runtimeMessage(r.stderr)}`);
    }
    const out = r.stdout.trim();
    if (out === '' || out === 'null') return [];
    return JSON.parse(out) as RuntimeState[];
  }

  async kill(id: string, signal: number, opts: { all?: boolean } = {}): Promise<void> {
    const r = await run(this.path, this.args('kill', ...(opts.all ? ['--all'] : []), id, String(signal)));
    // a process that is already gone is what we wanted
    if (r.code !== 0 && !/not running|process already finished|no such process|container not running/i.test(r.stderr)) {
      if (notExist(r.stderr)) return;
      this.fail(`signal ${signal}`, id, r.stderr);
    }
  }

  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    const r = await run(this.path, this.args('delete', ...(opts.force ? ['--force'] : []), id));
    if (r.code !== 0 && !notExist(r.stderr)) this.fail('remove the runtime state of', id, r.stderr);
  }

  /**
   * What `runc delete` and `crun delete` do for a container whose init is dead, less the cgroups
   * (which vserver removes itself, in every hierarchy) and poststop hooks (which vserver does not
   * use): the state directory goes.
   */
  forgetStopped(id: string): boolean {
    if (this.stateFromFile(id)?.status !== 'stopped') return false;
    rmSync(join(this.stateRoot, id), { recursive: true, force: true });
    return true;
  }

  /** The environment of the guest's init, from the copy of its config that crun keeps. */
  private configEnv(id: string): string[] {
    try {
      const spec = JSON.parse(readFileSync(join(this.stateRoot, id, 'config.json'), 'utf8')) as { process?: { env?: unknown } };
      const env = spec.process?.env;
      return Array.isArray(env) ? env.filter((e): e is string => typeof e === 'string') : [];
    } catch {
      return [];
    }
  }

  async exec(id: string, argv: readonly string[], io: ExecIO): Promise<number> {
    const extra: string[] = [];
    if (io.tty) extra.push('--tty');
    // crun's --env replaces the guest's environment (PATH too) where runc's adds to it: the guest's goes first
    const env = io.env?.length && this.name === 'crun' ? mergeEnv(this.configEnv(id), io.env) : (io.env ?? []);
    for (const e of env) extra.push('--env', e);
    if (io.cwd) extra.push('--cwd', io.cwd);
    if (io.user) extra.push('--user', io.user);
    const rlimits = io.rlimits ?? [];
    const relay = io.tty ? io.console : undefined;
    // runc loses the soft open-files limit: the shim puts it back (a relay's fd 3 is its control pipe),
    // in a guest whose root is not the host's
    const soft = this.name === 'runc' ? lostSoftNofile(rlimits) : undefined;
    const shim = soft === undefined || relay || io.hostRootMapped !== false ? undefined : execShimFd();
    let command = [...argv];
    if (shim !== undefined) {
      extra.push('--preserve-fds', '1');
      command = execShimArgv(argv, soft!);
    } else if (soft !== undefined && io.guestShell) command = softNofileArgv(argv, rlimits);
    if (relay) extra.push('--console-socket', relay.socket, '--detach', '--pid-file', relay.pidFile);
    const limited = this.name === 'crun' ? withExactLimits : withRaisedLimits;
    const [bin, binArgs] = limited(this.path, this.args('exec', ...extra, id, ...command), rlimits);
    const [file, args] = relay ? [relay.relay, [relay.socket, relay.pidFile, '--', bin, ...binArgs]] : [bin, binArgs];
    // our stderr goes through a pipe, so that the runtime's own failure (a Go panic when the guest
    // is at its pids limit) can be told from the command's output and reported in our words
    const watch = io.stderr === 'inherit' && !io.tty;
    const fd3 = relay ? ['pipe' as const] : shim !== undefined ? [shim] : [];
    const { child, exit } = launch(file, args, {
      stdio: [io.stdin, io.stdout, watch ? 'pipe' : io.stderr, ...fd3],
      stderrChunks: 0,
      missing: () => missing(this.name, this.path),
    });
    const own = watch ? watchStderr(child.stderr!) : undefined;
    io.onSpawn?.(child);
    // ^C on a terminal reaches the runtime too, which passes it on; other signals we forward
    const forward = (sig: NodeJS.Signals) => () => {
      child.kill(sig);
    };
    const handlers: [NodeJS.Signals, () => void][] = io.onSpawn
      ? []
      : [
          ['SIGINT', () => undefined],
          ['SIGQUIT', () => undefined],
          ['SIGTERM', forward('SIGTERM')],
          ['SIGHUP', forward('SIGHUP')],
        ];
    for (const [s, h] of handlers) process.on(s, h);
    try {
      const { code } = await exit;
      const failed = own?.(code);
      // crun's own words for a command the guest does not have: told with a shell's status, as runc's lookup gives it
      const absent = failed === undefined ? null : /^executable file `(.*)` not found/.exec(failed);
      if (absent) {
        process.stderr.write(`vserver: ${absent[1]}: not found\n`);
        return 127;
      }
      if (failed !== undefined) throw new VsError('RUNTIME_FAILED', `${this.name} could not start the command in guest '${id}': ${failed}`);
      return code;
    } finally {
      for (const [s, h] of handlers) process.off(s, h);
    }
  }

  async update(id: string, resources: OciResources): Promise<void> {
    const dir = join(this.stateRoot, '..', 'tmp');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `update-${id}-${process.pid}.json`);
    writeFileSync(file, JSON.stringify(resources));
    try {
      const r = await run(this.path, this.args('update', '--resources', file, id));
      if (r.code !== 0) this.fail('update the limits of', id, r.stderr);
    } finally {
      rmSync(file, { force: true });
    }
  }

  async pause(id: string): Promise<void> {
    const r = await run(this.path, this.args('pause', id));
    if (r.code !== 0) this.fail('freeze', id, r.stderr);
  }

  async resume(id: string): Promise<void> {
    const r = await run(this.path, this.args('resume', id));
    // a container that is not paused (or gone) needs no thaw
    if (r.code !== 0 && !/not paused|not running|container not paused/i.test(r.stderr) && !notExist(r.stderr))
      this.fail('thaw', id, r.stderr);
  }
}

export function missing(name: string, path: string): VsError {
  return new VsError(
    'RUNTIME_MISSING',
    `the OCI runtime ${name} is not installed (${path} not found)`,
    'install runc or crun (apt-get install runc)',
  );
}

/** One buffer for the heads of all state files read, each decoded before the next: the fields wanted take under 200 bytes. */
const HEAD = Buffer.alloc(384);

/**
 * init's pid, its start time and the creation time from the head of runc's state.json, which
 * writes them before the container's whole config: listing a thousand guests then reads a few
 * kilobytes of each instead of parsing all of it. Undefined when the head does not have them.
 */
export function runcStateHead(file: string, text?: string): { pid: number; start: number; created: string } | undefined {
  let head = text;
  if (head === undefined) {
    const fd = openSync(file, 'r');
    try {
      head = HEAD.toString('utf8', 0, readSync(fd, HEAD, 0, HEAD.length, 0));
    } finally {
      closeSync(fd);
    }
  }
  const m = /^\{"id":"[^"\\]*","init_process_pid":(\d+),"init_process_start":(\d+),"created":"([^"\\]*)"/.exec(head);
  return m ? { pid: Number(m[1]), start: Number(m[2]), created: m[3]! } : undefined;
}

function readFrom(fd: number, offset: number): string {
  const size = Math.min(fstatSync(fd).size - offset, 64 * 1024);
  if (size <= 0) return '';
  const buf = Buffer.alloc(size);
  const n = readSync(fd, buf, 0, size, offset);
  return buf.subarray(0, n).toString('utf8');
}

/** What the runtime itself writes when it fails before the command runs (its init's Go runtime, or its log). */
const RUNTIME_FAILURE =
  /^(runtime\/cgo: |runtime: failed to create new OS thread|fatal error: newosproc|nsenter: |time="[^"]*" level=(error|fatal) msg="exec failed: |executable file `)/;

/** The Go runtime's fatal start of a thread: when runc's set-up process aborts so, after it took the command's place, the status is Go's 2. */
const GO_FATAL = /^(runtime\/cgo: |runtime: failed to create new OS thread|fatal error: newosproc)/;

/** More than this is the command's own output, whatever it starts with. */
const HOLD_MAX = 1 << 20;

/**
 * Passes the command's stderr on to ours, but holds it back while it starts like the runtime's
 * own failure. The returned function is called with the exit code: for the runtime's exit status
 * 255, or Go's 2 after a Go runtime abort, it gives that failure's first line; otherwise what was
 * held is passed on after all.
 */
export function watchStderr(stream: NodeJS.ReadableStream): (code: number | null) => string | undefined {
  let first = true;
  let held: Buffer[] | undefined;
  let size = 0;
  const release = () => {
    for (const b of held ?? []) process.stderr.write(b);
    held = undefined;
  };
  stream.on('data', (b: Buffer) => {
    if (first) {
      first = false;
      if (RUNTIME_FAILURE.test(b.toString('utf8', 0, 200))) held = [];
    }
    if (!held) {
      process.stderr.write(b);
      return;
    }
    held.push(b);
    size += b.length;
    if (size > HOLD_MAX) release();
  });
  return (code) => {
    if (!held) return undefined;
    const text = Buffer.concat(held).toString('utf8');
    if (code !== 255 && !(code === 2 && GO_FATAL.test(text))) {
      release();
      return undefined;
    }
    return /^time=/.test(text) ? runtimeMessage(text) : text.split('\n')[0]!;
  };
}
