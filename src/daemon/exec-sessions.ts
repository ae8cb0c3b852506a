// Exec sessions of the API: a command started through the engine's one exec path, its stdio
// carried by a WebSocket. The command starts with the request, so that the runtime's work overlaps
// the client's WebSocket set-up; its output waits in a buffer until a client attaches. An
// interactive session (a PTY) also outlives a dropped socket for a while, so that a client can reattach.
// With "wait", a plain command runs to its end within the request instead, and its output is the answer.
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import type { Engine } from '../engine/index.js';
import { toVsError, VsError } from '../util/errors.js';
import { traceMark } from '../util/trace.js';
import { errorBody } from './errors.js';

export interface ExecRequest {
  command: string[];
  interactive?: boolean;
  cols?: number;
  rows?: number;
  env?: Record<string, string>;
  cwd?: string;
  user?: string;
  /** Answer when the command has ended, with its exit code and output, instead of with a socket URL. */
  wait?: boolean;
}

/** The answer to an exec request with "wait": the exit code, and the output as UTF-8 text. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The streams that wrote more than BUFFER_BYTES: the rest was read and dropped. */
  truncated?: ('stdout' | 'stderr')[];
}

/** How long a socket URL stays valid before a client attaches, and a dropped interactive session waits. */
export const ATTACH_MS = 60_000;
/** Output kept for a detached session (beyond it the command is held back, its output not lost), and per stream of a waited exec. */
export const BUFFER_BYTES = 1 << 20;

const CHANNEL = { stdin: 0, stdout: 1, stderr: 2 } as const;

class Session {
  readonly secret = randomBytes(24).toString('hex');
  socket: WebSocket | undefined;
  child: ChildProcess | undefined;
  /** Frames waiting for a socket. */
  private pending: (Buffer | string)[] = [];
  private pendingBytes = 0;
  private exit: string | undefined;
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    readonly guest: string,
    readonly req: ExecRequest,
    private readonly done: () => void,
  ) {}

  /** A frame to the client, or into the buffer while none is attached. */
  out(frame: Buffer | string): void {
    if (this.socket && this.socket.readyState === this.socket.OPEN) {
      this.socket.send(frame);
      return;
    }
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (this.pendingBytes > BUFFER_BYTES) this.hold(true);
  }

  /** Stops reading the command's output (it then waits on its terminal), or reads on. */
  private hold(on: boolean): void {
    for (const s of [this.child?.stdout, this.child?.stderr])
      if (on) s?.pause();
      else s?.resume();
  }

  finish(code: number, err?: ReturnType<typeof errorBody>): void {
    this.exit = JSON.stringify({ type: 'exit', code, ...(err ? { error: err } : {}) });
    if (this.socket) this.closeWithExit(this.socket);
    else this.expireIn(ATTACH_MS);
  }

  private closeWithExit(ws: WebSocket): void {
    traceMark(`exec ${this.id}: exit sent`);
    ws.send(this.exit!);
    ws.close(1000);
    clearTimeout(this.timer);
    this.done();
  }

  attach(ws: WebSocket): void {
    traceMark(`exec ${this.id}: client attached`);
    clearTimeout(this.timer);
    this.socket = ws;
    for (const f of this.pending.splice(0)) ws.send(f);
    this.pendingBytes = 0;
    this.hold(false);
    if (this.exit !== undefined) this.closeWithExit(ws);
  }

  detach(): void {
    this.socket = undefined;
    if (this.exit !== undefined) return;
    // a plain command ends with its socket: HUP as a terminal would get, and no more input
    if (!this.req.interactive) {
      this.signal('SIGHUP');
      this.child?.stdin?.end();
    }
    this.expireIn(ATTACH_MS);
  }

  expireIn(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.end(), ms);
    this.timer.unref();
  }

  /** Nobody came back: the command is ended and the session forgotten. */
  end(): void {
    if (this.exit === undefined) {
      this.signal('SIGHUP');
      setTimeout(() => this.signal('SIGKILL'), 2000).unref();
    }
    this.done();
  }

  signal(sig: NodeJS.Signals): void {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const ctl = child.stdio[3] as NodeJS.WritableStream | null | undefined;
    // the relay signals the command itself; a plain runtime exec passes on what it gets (but not KILL)
    if (ctl) ctl.write(`signal ${constants.signals[sig]}\n`);
    else child.kill(sig);
  }

  resize(cols: number, rows: number): void {
    const ctl = this.child?.stdio[3] as NodeJS.WritableStream | null | undefined;
    ctl?.write(`resize ${cols} ${rows}\n`);
  }
}

/** Checks what the engine's exec would only find out late, or not at all. */
function checkRequest(r: ExecRequest): void {
  for (const k of Object.keys(r.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
      throw new VsError(
        'USAGE',
        `bad environment variable name '${k.slice(0, 60)}'`,
        'use letters, digits and _, not starting with a digit',
      );
  }
  if (r.cwd !== undefined && !r.cwd.startsWith('/'))
    throw new VsError('USAGE', `cwd '${r.cwd.slice(0, 60)}' is not an absolute path`, 'give a path inside the guest starting with /');
  if (r.user !== undefined && !/^\d{1,10}(:\d{1,10})?$/.test(r.user)) {
    throw new VsError(
      'USAGE',
      `user '${r.user.slice(0, 60)}' is not UID or UID:GID`,
      'give numeric ids inside the guest, for example 1000:1000',
    );
  }
  if (r.command.some((a) => a.includes('\0')) || Object.values(r.env ?? {}).some((v) => v.includes('\0'))) {
    throw new VsError('USAGE', 'the command or environment contains a NUL byte', 'remove it');
  }
}

/** The command's environment as the runtime takes it; a terminal gets TERM=xterm unless it is given. */
function envList(r: ExecRequest): string[] {
  const list = Object.entries(r.env ?? {}).map(([k, v]) => `${k}=${v}`);
  if (r.interactive && !('TERM' in (r.env ?? {}))) list.unshift('TERM=xterm');
  return list;
}

/** Up to BUFFER_BYTES of a stream; what comes after is read and dropped, so that the command never waits on it. */
function keep(stream: NodeJS.ReadableStream | null): { text: () => string; over: () => boolean } {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let over = false;
  stream?.on('data', (b: Buffer) => {
    const room = BUFFER_BYTES - bytes;
    if (b.length > room) over = true;
    if (room <= 0) return;
    chunks.push(room < b.length ? b.subarray(0, room) : b);
    bytes += Math.min(room, b.length);
  });
  return { text: () => Buffer.concat(chunks).toString('utf8'), over: () => over };
}

export class ExecSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly engine: Engine,
    private readonly relay: () => string,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /**
   * A new session: resolves once the command runs, its output kept until a client attaches. What keeps
   * it from starting (not running, no such guest, a missing helper) is the request's error.
   */
  async create(guest: string, req: ExecRequest): Promise<{ id: string; secret: string }> {
    checkRequest(req);
    const id = randomUUID();
    traceMark(`exec ${id}: request`);
    const s = new Session(id, guest, req, () => this.sessions.delete(id));
    await this.run(s);
    s.expireIn(ATTACH_MS);
    this.sessions.set(id, s);
    return { id, secret: s.secret };
  }

  /**
   * Runs a plain command to its end within the request ("wait"): no socket, no input (/dev/null). A
   * client that goes away first is `gone`, and the command then gets SIGHUP, as a dropped socket gives it.
   */
  async runToEnd(guest: string, req: ExecRequest, gone: (hangUp: () => void) => void): Promise<ExecResult> {
    checkRequest(req);
    if (req.interactive)
      throw new VsError('USAGE', 'an interactive exec runs on a terminal through its WebSocket', 'leave out "wait", or "interactive"');
    let out = keep(null);
    let err = keep(null);
    const code = await this.engine.exec(guest, req.command, {
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      tty: false,
      env: envList(req),
      ...(req.cwd === undefined ? {} : { cwd: req.cwd }),
      ...(req.user === undefined ? {} : { user: req.user }),
      onSpawn: (child) => {
        out = keep(child.stdout);
        err = keep(child.stderr);
        gone(() => child.exitCode === null && child.signalCode === null && child.kill('SIGHUP'));
      },
    });
    const truncated = (['stdout', 'stderr'] as const).filter((k) => (k === 'stdout' ? out : err).over());
    return { code, stdout: out.text(), stderr: err.text(), ...(truncated.length > 0 ? { truncated } : {}) };
  }

  /** The session behind a socket URL, or the error that says why not. */
  find(id: string, secret: string | undefined): Session {
    const s = this.sessions.get(id);
    if (!s)
      throw new VsError(
        'NOT_FOUND',
        `no exec session '${id.slice(0, 40)}'`,
        'it ended, or nobody attached within 60 s: start the command again with POST /1.0/guests/NAME/exec',
      );
    const a = Buffer.from(secret ?? '');
    const b = Buffer.from(s.secret);
    if (a.length !== b.length || !timingSafeEqual(a, b)) {
      throw new VsError(
        'NOT_PERMITTED',
        'wrong secret for this exec session',
        'use the socket URL exactly as the exec request returned it',
      );
    }
    if (s.socket) throw new VsError('BUSY', `exec session '${id}' already has a client attached`, 'close the other socket first');
    return s;
  }

  attach(s: Session, ws: WebSocket): void {
    ws.on('message', (data: Buffer, isBinary: boolean) => this.fromClient(s, data, isBinary));
    ws.on('close', () => {
      if (s.socket === ws) s.detach();
    });
    ws.on('error', () => undefined);
    s.attach(ws);
  }

  private fromClient(s: Session, data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      if (data[0] === CHANNEL.stdin) s.child?.stdin?.write(data.subarray(1));
      return;
    }
    let msg: { type?: unknown; cols?: unknown; rows?: unknown; signal?: unknown };
    try {
      msg = JSON.parse(data.toString('utf8')) as typeof msg;
    } catch {
      return;
    }
    if (msg.type === 'resize' && isSize(msg.cols) && isSize(msg.rows)) s.resize(msg.cols, msg.rows);
    else if (
      msg.type === 'signal' &&
      typeof msg.signal === 'string' &&
      /^SIG[A-Z0-9]+$/.test(msg.signal) &&
      msg.signal in constants.signals
    ) {
      s.signal(msg.signal as NodeJS.Signals);
    } else if (msg.type === 'eof') {
      // on a terminal, end of input is ^D; else the pipe closes
      if (s.req.interactive) s.child?.stdin?.write('\x04');
      else s.child?.stdin?.end();
    }
  }

  /** Starts the command; resolves once the runtime's process runs, rejects with what kept it from starting. */
  private run(s: Session): Promise<void> {
    const { command, interactive, cols, rows, cwd, user } = s.req;
    const dir = join(this.engine.deps.paths.run, 'exec');
    let relay: { relay: string; socket: string; pidFile: string } | undefined;
    if (interactive) {
      const program = this.relay(); // a missing helper is the request's error
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      relay = { relay: program, socket: join(dir, `${s.id}.sock`), pidFile: join(dir, `${s.id}.pid`) };
    }
    const frame = (ch: number) => (b: Buffer) => s.out(Buffer.concat([Buffer.of(ch), b]));
    let started: () => void = () => undefined;
    let refused: (e: unknown) => void = () => undefined;
    const running = new Promise<void>((resolve, reject) => {
      started = resolve;
      refused = reject;
    });
    void this.engine
      .exec(s.guest, command, {
        stdin: 'pipe',
        stdout: 'pipe',
        stderr: 'pipe',
        tty: interactive === true,
        env: envList(s.req),
        ...(cwd === undefined ? {} : { cwd }),
        ...(user === undefined ? {} : { user }),
        ...(relay ? { console: relay } : {}),
        onSpawn: (child) => {
          s.child = child;
          child.stdin?.on('error', () => undefined);
          (child.stdio[3] as NodeJS.WritableStream | null)?.on('error', () => undefined);
          child.stdout?.on('data', frame(CHANNEL.stdout));
          // on a terminal all output is one stream; what comes on stderr then is the runtime's own
          child.stderr?.on('data', frame(interactive ? CHANNEL.stdout : CHANNEL.stderr));
          if (interactive && cols !== undefined && rows !== undefined) s.resize(cols, rows);
          traceMark(`exec ${s.id}: runtime spawned`);
          started();
        },
      })
      .then(
        (code) => {
          traceMark(`exec ${s.id}: command ended`);
          s.finish(code);
          started(); // a runtime that gives no process still gives the exit code
        },
        (e: unknown) => {
          if (!s.child) return refused(e);
          const err = toVsError(e);
          s.out(Buffer.concat([Buffer.of(interactive ? CHANNEL.stdout : CHANNEL.stderr), Buffer.from(`vserver: ${err.message}\n`)]));
          s.finish(err.exitCode, errorBody(err));
        },
      )
      .finally(() => {
        if (relay) for (const f of [relay.socket, relay.pidFile]) rmSync(f, { force: true });
      });
    return running;
  }

  /** Ends every session (the daemon stops). */
  close(): void {
    for (const s of [...this.sessions.values()]) s.end();
  }
}

const isSize = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 10000;
