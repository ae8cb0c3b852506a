// One `ip -json -batch -` process fed a line at a time: the host's links are read and the changes
// made by the same process, so that a start spawns ip once per side instead of once per step.
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { VsError } from '../util/errors.js';
import { launch, launcherInUse, type Launcher } from '../util/proc.js';
import { batchError, batchFailures, linkFacts, linkNames, readLinks } from './iproute.js';
import type { BatchLine } from './script.js';
import type { LinkFact } from './types.js';

/** Idle sessions of this process, for the next start of a bulk run: one ip per job, not one per guest. */
const idle: IpSession[] = [];
/** How long an idle session waits for another user before it ends (a daemon lives on). */
const IDLE_MS = 2000;

export class IpSession {
  private readonly child: ChildProcess;
  private idleTimer: NodeJS.Timeout | undefined;
  private parked = false;
  /** What started ip: a session is given only to users of the same (a test's double is not the host). */
  private readonly via: Launcher = launcherInUse();
  private readonly sent: BatchLine[] = [];
  private out = '';
  private err = '';
  private answers: ((line: string) => void)[] = [];
  private released = false;
  private readonly exited: Promise<number>;

  /** `prefix` runs ip through other programs, for example ['nsenter', '--net=FILE', '--']. */
  constructor(prefix: readonly string[] = []) {
    const argv = [...prefix, 'ip', '-json', '-details', '-batch', '-'];
    const { child, exit } = launch(argv[0]!, argv.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      stderrChunks: 0,
      missing: () => new VsError('DEPENDENCY_MISSING', `cannot run '${argv[0]}': not found`, 'install iproute2 and util-linux'),
    });
    this.child = child;
    this.child.stdin!.on('error', () => undefined); // ip stops reading when a line fails
    this.child.stdout!.on('data', (b: Buffer) => {
      this.out += b.toString('utf8');
      for (let nl = this.out.indexOf('\n'); nl >= 0; nl = this.out.indexOf('\n')) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        this.answers.shift()?.(line);
      }
    });
    this.child.stderr!.on('data', (b: Buffer) => {
      this.err += b.toString('utf8');
    });
    this.exited = exit.then((e) => e.code);
  }

  /** ip's process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** An idle session of this process that is still sound, else a new one. */
  static take(): IpSession {
    for (let s = idle.pop(); s; s = idle.pop()) {
      clearTimeout(s.idleTimer);
      s.parked = false;
      if (s.sound() && s.via === launcherInUse()) {
        s.hold(true);
        return s;
      }
      s.kill();
    }
    return new IpSession();
  }

  /** Every line so far has been answered and ip still runs: nothing of an earlier user is pending. */
  private sound(): boolean {
    return (
      !this.released &&
      !this.child.killed &&
      this.child.exitCode === null &&
      this.child.signalCode === null &&
      this.answers.length === 0 &&
      this.err === ''
    );
  }

  /** Whether this process waits for ip: not while the session is idle, so that it never keeps the process alive. */
  private hold(on: boolean): void {
    for (const h of [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as (Partial<
      Pick<Socket, 'ref' | 'unref'>
    > | null)[]) {
      // a plain stream (as a test's launcher gives) has neither
      if (on) h?.ref?.();
      else h?.unref?.();
    }
  }

  /**
   * Gives the session back for another start of this process once a barrier (apply or query) has
   * confirmed every line; it ends by itself when nobody takes it soon.
   */
  park(): void {
    if (!this.sound()) {
      this.release();
      return;
    }
    this.hold(false);
    this.parked = true;
    this.idleTimer = setTimeout(() => {
      const i = idle.indexOf(this);
      if (i >= 0) idle.splice(i, 1);
      this.release();
    }, IDLE_MS);
    this.idleTimer.unref();
    idle.push(this);
  }

  /** Sends lines without waiting for them; a later query or apply reports a failure among them. */
  send(lines: readonly BatchLine[]): void {
    for (const line of lines) {
      this.sent.push(line);
      this.child.stdin!.write(`${line.cmd}\n`);
    }
  }

  /** Why ip stopped: the failed line and ip's own words. */
  private async failure(): Promise<VsError> {
    const code = await this.exited;
    const problems = batchFailures(this.err, this.sent);
    return batchError(problems.length > 0 ? problems : [`ip exited (${code}) before answering`]);
  }

  /** Sends a command that prints JSON; resolves with the parsed answer, or rejects if an earlier line failed. */
  query<T>(cmd: string, what = 'reading the links'): Promise<T> {
    const answer = new Promise<string>((resolve) => this.answers.push(resolve));
    this.send([{ cmd, what }]);
    return Promise.race([
      answer.then((line) => JSON.parse(line === '' ? '[]' : line) as T),
      this.exited.then(async () => {
        throw await this.failure();
      }),
    ]);
  }

  links(): Promise<LinkFact[]> {
    return this.query<unknown[]>('address show').then(linkFacts);
  }

  /**
   * What a start on bridges needs of the host without listing every link (a dump of a thousand veths
   * per start is most of a start's cost at that scale): the bridges, and every local address.
   */
  async bridgesAndAddresses(): Promise<{ bridges: LinkFact[]; local: { address: string; dev: string }[] }> {
    const [bridges, routes] = await Promise.all([
      this.query<unknown[]>('address show type bridge').then(linkFacts),
      this.query<{ dst?: string; dev?: string }[]>('route show table all type local', "reading the host's addresses"),
    ]);
    const local = routes
      .filter((r) => r.dst !== undefined && r.dev !== undefined && !r.dst.includes('/'))
      .map((r) => ({ address: r.dst!, dev: r.dev! }));
    return { bridges, local };
  }

  /** Runs the lines; resolves once all of them succeeded (a query after them is the barrier). */
  async apply(lines: readonly BatchLine[]): Promise<void> {
    if (lines.length === 0) return;
    this.send(lines);
    await this.query('link show dev lo', 'checking the lines before');
  }

  /**
   * Ends the input without waiting for ip to exit: for after a barrier (apply or query) has
   * confirmed every line, when all that is left for ip is to see the end of its input.
   */
  release(): void {
    this.released = true;
    // nothing of ip's may keep this process alive: its input's end reaches it even if we exit first
    const stdin = this.child.stdin as Socket;
    stdin.end();
    stdin.unref();
    this.child.stdout!.destroy();
    this.child.stderr!.destroy();
    this.child.unref();
  }

  /** Stops ip at once (when giving up part-way). */
  kill(): void {
    if (!this.released && !this.parked && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/**
 * Only the named links that this namespace has, with their details (at a thousand guests, reading
 * every link for each one that stops is most of a stop), asked of an ip session of this process so
 * that a bulk stop spawns no ip for it. Falls back to every link if one went meanwhile.
 */
export async function readNamedLinks(names: readonly string[]): Promise<LinkFact[]> {
  const present = linkNames();
  const wanted = [...new Set(names)].filter((n) => present.has(n));
  if (wanted.length === 0) return [];
  const ip = IpSession.take();
  try {
    const out: LinkFact[] = [];
    for (const n of wanted) out.push(...linkFacts(await ip.query<unknown[]>(`link show dev ${n}`)));
    ip.park();
    return out;
  } catch {
    ip.kill();
    return readLinks();
  }
}
