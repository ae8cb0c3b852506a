// The daemon's programs start from processes forked ahead of time (dist/spawn-slot): forking the daemon
// itself costs milliseconds per program, and an exec over the API would pay them on every request.
// A slot is a real child of the daemon that execs the program, so the ChildProcess it hands out is the
// program's own: its pid, stdio, exit code and signals are the program's.
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Socket } from 'node:net';
import type { Launcher, StartOptions } from '../util/proc.js';

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** The modes of fds 0-3 for a slot, and the file it opens as fd 3 for mode 'f'. */
export interface SlotHow {
  modes: string;
  fd3?: string;
}

/** Fields a slot takes at most (MAX_ARGS in spawn-slot.c, less its own); more are forked. */
const MAX_FIELDS = 8000;

/**
 * What a slot does with fds 0-3 (see spawn-slot.c), or undefined when it cannot give what is asked.
 * An fd of ours given as fd 3 is opened by the slot through /proc, so it must stay open meanwhile.
 */
export function slotModes(opts: StartOptions): SlotHow | undefined {
  if (opts.detached || opts.cwd !== undefined || (opts.env !== undefined && opts.env !== process.env)) return undefined;
  const s = opts.stdio;
  if (!Array.isArray(s) || s.length < 3 || s.length > 4) return undefined;
  let modes = '';
  for (const how of s.slice(0, 3)) {
    if (how === 'pipe') modes += 'p';
    else if (how === 'ignore') modes += 'n';
    else return undefined;
  }
  if (s.length === 3) return { modes: `${modes}-` };
  if (s[3] === 'pipe') return { modes: `${modes}k` };
  if (typeof s[3] === 'number') return { modes: `${modes}f`, fd3: `/proc/${process.pid}/fd/${s[3]}` };
  return undefined;
}

/** The request a slot reads on fd 3: its length, then MODES [FD3FILE] FILE ARGV0 ARGS..., each ended by a NUL. */
export function slotRequest(how: SlotHow, file: string, args: readonly string[]): Buffer {
  const fields = [how.modes, ...(how.fd3 === undefined ? [] : [how.fd3]), file, file, ...args];
  const body = Buffer.from(`${fields.join('\0')}\0`);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length);
  return Buffer.concat([head, body]);
}

/** The error Node's own spawn gives when execve fails. */
function spawnError(file: string, args: readonly string[], errno: number): Error {
  const code = ERRNO_NAMES.get(errno) ?? `E${errno}`;
  return Object.assign(new Error(`spawn ${file} ${code}`), {
    errno: -errno,
    code,
    syscall: `spawn ${file}`,
    path: file,
    spawnargs: [...args],
  });
}

const alive = (c: ChildProcess) => c.pid !== undefined && c.exitCode === null && c.signalCode === null;

/** The environment a slot was started with: a slot is only used while the daemon's is the same. */
const envKey = () => JSON.stringify(process.env);

interface Slot {
  child: ChildProcess;
  env: string;
}

/** The latest the slots taken are forked again while programs from slots still run (a long interactive shell). */
const REFILL_LATEST_MS = 1000;

export class SpawnSlots {
  private idle: Slot[] = [];
  private refill: NodeJS.Timeout | undefined;
  private closed = false;
  /** Programs started from slots that still run. */
  private running = 0;

  /**
   * program: the spawn-slot helper; fork: what starts programs (and slots) otherwise; size: slots kept
   * ready, enough for a burst of execs while the next ones are forked after the responses have gone.
   */
  constructor(
    private readonly program: string,
    private readonly fork: Launcher,
    private readonly size = 2,
  ) {}

  /** Starts a program from a ready slot when one can give what is asked, else forks as usual. */
  readonly launcher: Launcher = (file, args, opts) => this.take(file, args, opts) ?? this.fork(file, args, opts);

  /** Slots ready now. */
  get ready(): number {
    return this.idle.filter((s) => alive(s.child)).length;
  }

  /** Forks slots until `size` are ready. */
  fill(): void {
    const env = envKey();
    this.idle = this.idle.filter((s) => (alive(s.child) && s.env === env) || this.discard(s));
    while (!this.closed && this.idle.length < this.size) {
      const child = this.fork(this.program, [], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
      // a slot that cannot start (a missing helper) is never used: programs are forked instead
      child.on('error', () => undefined);
      for (const s of child.stdio) s?.on('error', () => undefined);
      if (child.pid === undefined) break;
      this.idle.push({ child, env });
    }
  }

  /** Ends the ready slots (the daemon stops); they exit when their fd 3 closes. */
  close(): void {
    this.closed = true;
    clearTimeout(this.refill);
    for (const s of this.idle.splice(0)) this.discard(s);
  }

  /** A slot whose fd 3 closes before a request exits on its own. */
  private discard(s: Slot): false {
    for (const io of s.child.stdio) io?.destroy();
    return false;
  }

  private take(file: string, args: readonly string[], opts: StartOptions): ChildProcess | undefined {
    const how = slotModes(opts);
    if (how === undefined || this.closed || args.length > MAX_FIELDS || [file, ...args].some((a) => a.includes('\0'))) return undefined;
    this.refillIn(REFILL_LATEST_MS);
    const env = envKey();
    for (let s = this.idle.shift(); s; s = this.idle.shift()) {
      if (!alive(s.child) || s.env !== env) {
        this.discard(s);
        continue;
      }
      this.running++;
      s.child.once('close', () => {
        // forking a slot costs the CPU a runtime's start-up needs: done once nothing from a slot runs
        if (--this.running === 0) this.refillIn(0);
      });
      return becomes(s.child, how, file, args);
    }
    return undefined;
  }

  /** Forks the missing slots in `ms` (setImmediate-like for 0, after the answer of a program just ended), or sooner. */
  private refillIn(ms: number): void {
    if (this.refill !== undefined && ms > 0) return;
    clearTimeout(this.refill);
    this.refill = setTimeout(() => {
      this.refill = undefined;
      this.fill();
    }, ms);
  }
}

/** The slot is told what to run, and its ChildProcess then stands for that program. */
function becomes(child: ChildProcess, how: SlotHow, file: string, args: readonly string[]): ChildProcess {
  const { modes } = how;
  const ctl = child.stdio[3] as Socket;
  ctl.write(slotRequest(how, file, args));
  Object.assign(child, { spawnfile: file, spawnargs: [file, ...args] });
  const names = ['stdin', 'stdout', 'stderr'] as const;
  names.forEach((key, fd) => {
    if (modes[fd] !== 'n') return;
    child.stdio[fd]?.destroy();
    Object.assign(child, { [key]: null, stdio: Object.assign([...child.stdio], { [fd]: null }) });
  });
  // a failed execve is said on fd 3, and the slot waits for this end to close before it exits
  let said = '';
  const onData = (b: Buffer) => {
    said += b.toString('latin1');
    const m = /^E(\d+)\n/.exec(said);
    if (!m && said.length < 16) return;
    ctl.off('data', onData);
    if (m) {
      child.emit('error', spawnError(file, args, Number(m[1])));
      ctl.destroy();
    }
  };
  ctl.on('data', onData);
  if (modes[3] !== 'k') {
    // the channel closes at a successful execve: the program has no pipe of ours on fd 3
    ctl.on('end', () => ctl.destroy());
    Object.assign(child, { stdio: child.stdio.slice(0, 3) });
  }
  return child;
}
