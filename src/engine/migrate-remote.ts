// The source's side of the link to a migration target: where it is (ssh://user@host:port, or a
// remote's daemon), the command that reaches it (ssh, or vserver __relay over the API's TLS link),
// and the receiving vserver there, spoken to in JSON lines over that command's stdio.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { RsyncTarget } from '../storage/rsync.js';
import { VsError, type ErrorCode, ERROR_CODES } from '../util/errors.js';
import { lastLines, launch, tied } from '../util/proc.js';
import { TRACE_ON } from '../util/trace.js';

export interface Destination {
  user: string;
  host: string;
  port?: number;
  /** As the user wrote it, for messages. */
  text: string;
}

export function parseDestination(dest: string): Destination {
  const m = /^ssh:\/\/(?:([a-z_][a-z0-9_.-]*)@)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*)(?::(\d{1,5}))?\/?$/.exec(dest);
  const port = m?.[3] === undefined ? undefined : Number(m[3]);
  if (!m || (port !== undefined && (port < 1 || port > 65535))) {
    throw new VsError(
      'USAGE',
      `'${dest}' is not a migration target`,
      "write it as ssh://root@HOST or ssh://root@HOST:PORT (the target runs sshd and has vserver and rsync installed), or name a remote from 'vserver remote list'",
    );
  }
  return { user: m[1] ?? 'root', host: m[2]!, ...(port === undefined ? {} : { port }), text: dest };
}

/** Probes that find a dead link within seconds, so that a cut never leaves the guest frozen for long. */
const KEEPALIVE = ['-o', 'BatchMode=yes', '-o', 'ServerAliveInterval=2', '-o', 'ServerAliveCountMax=3', '-o', 'ConnectTimeout=10'];

/** ssh and its options, up to the host: ours, then the port, then each user option as -o OPT. */
export function sshCommand(d: Destination, options: readonly string[] = []): string[] {
  return ['ssh', ...KEEPALIVE, ...(d.port === undefined ? [] : ['-p', String(d.port)]), ...options.flatMap((o) => ['-o', o])];
}

/** user@host as ssh and rsync take it (without the brackets of an IPv6 address). */
export function sshHost(d: Destination): string {
  return `${d.user}@${d.host.replace(/^\[(.*)\]$/, '$1')}`;
}

/** One word for the remote shell that ssh hands the command to. */
export function shellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** The receiving command on the target: vserver receive NAME (with the trace asked for here passed on). */
export function receiveCommand(vserver: string, name: string): string[] {
  return [...(TRACE_ON ? ['env', 'VSERVER_TRACE=1'] : []), vserver, 'receive', name];
}

/** How the migration reaches the target: the receiver's command, and rsync's remote shell. */
export interface Transport {
  /** The target as the user wrote it, for messages. */
  text: string;
  /** The command whose stdio speaks with the receive protocol there. */
  receiver: readonly string[];
  /** rsync's link; `rsyncPath` is the target's own command for its rsync (words), from its hello. */
  rsync(rsyncPath: unknown): RsyncTarget;
  /** What to check when the link is lost. */
  hint: string;
}

/** Over ssh: the receiver holds the connection, which every rsync shares through its control socket. */
export function sshTransport(
  d: Destination,
  control: string,
  opts: { sshOptions?: string[]; remoteVserver?: string },
  name: string,
): Transport {
  const ssh = sshCommand(d, opts.sshOptions);
  const host = sshHost(d);
  const remote = receiveCommand(opts.remoteVserver ?? 'vserver', name);
  const words = (x: unknown) => (Array.isArray(x) ? { rsyncPath: x.map((w) => shellWord(String(w))).join(' ') } : {});
  return {
    text: d.text,
    receiver: [
      ...ssh,
      '-o',
      `ControlPath=${control}`,
      '-o',
      'ControlMaster=yes',
      '-o',
      'ControlPersist=no',
      host,
      '--',
      remote.map(shellWord).join(' '),
    ],
    rsync: (rsyncPath) => ({ ssh: [...ssh, '-o', `ControlPath=${control}`, '-o', 'ControlMaster=no'], host, ...words(rsyncPath) }),
    hint: 'check that the target is reachable with ssh as given (keys, --ssh-option) and runs vserver at --remote-vserver, then migrate again',
  };
}

/**
 * Through a remote's daemon: `relay` (vserver __relay ROOT REMOTE) runs a command there over the
 * API's TLS link, with the pinned certificate and the token. The daemon picks its own rsync command,
 * and rsync's words go unsplit, so that the daemon can check them.
 */
export function relayTransport(text: string, relay: readonly string[], name: string): Transport {
  return {
    text,
    receiver: [...relay, 'vserverd', 'receive', name],
    rsync: () => ({ ssh: relay, host: 'vserverd', plainArgs: true }),
    hint: `check that vserverd runs on the target and that remote '${text}' (vserver remote list) reaches it, then migrate again`,
  };
}

/** The target refused a step and took back what it had for it. */
export class TargetError extends VsError {}

export type Reply = { ok: true; [k: string]: unknown } | { ok: false; error: { code: string; message: string; hint?: string } };

/** The receiving vserver on the target, started over ssh; it ends when its standard input closes. */
export class Receiver {
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  private stderr = '';

  constructor(
    command: readonly string[],
    private readonly hint: string,
  ) {
    const [file, args] = tied(command[0]!, command.slice(1));
    this.child = launch(file, args, { stderrChunks: 0 }).child; // its stderr is kept below, trimmed
    this.child.stdin!.on('error', () => undefined); // a dead link shows as the reply that never comes
    this.child.stderr!.on('data', (b: Buffer) => {
      this.stderr = (this.stderr + b.toString('utf8')).slice(-4000);
    });
    // the target's step timings (VSERVER_TRACE=1), beside ours
    if (TRACE_ON)
      createInterface({ input: this.child.stderr! }).on('line', (l) => l.startsWith('trace: ') && process.stderr.write(`target ${l}\n`));
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      this.lines.push(l);
      this.waiter?.();
    });
    this.child.on('close', () => {
      this.ended = true;
      this.waiter?.();
    });
    this.child.on('error', () => {
      this.ended = true;
      this.waiter?.();
    });
  }

  /** Sends one message and waits up to timeoutMs for the answer. */
  async request(msg: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
    this.send(msg);
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.ended) throw this.lost();
      const left = deadline - Date.now();
      if (left <= 0)
        throw new VsError(
          'MIGRATION_FAILED',
          `the target did not answer '${String(msg.op)}' within ${Math.round(timeoutMs / 1000)} s`,
          'check the link to the target, then migrate again',
        );
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
      this.waiter = undefined;
    }
    let reply: Reply;
    try {
      reply = JSON.parse(this.lines.shift()!) as Reply;
    } catch {
      throw new VsError(
        'MIGRATION_FAILED',
        'the target answered something that is not a migration reply',
        'check that --remote-vserver names vserver on the target, of the same version as here',
      );
    }
    if (!reply.ok) {
      const code = (reply.error.code in ERROR_CODES ? reply.error.code : 'MIGRATION_FAILED') as ErrorCode;
      throw new TargetError(code, `on the target: ${reply.error.message}`, reply.error.hint);
    }
    return reply;
  }

  /** A message that wants no answer (the keep-alive). */
  send(msg: Record<string, unknown>): void {
    if (!this.ended) this.child.stdin!.write(`${JSON.stringify(msg)}\n`);
  }

  private lost(): VsError {
    const why = lastLines(this.stderr);
    return new VsError('MIGRATION_FAILED', `the link to the target was lost${why ? `: ${why}` : ''}`, this.hint);
  }

  /** Closes its input (the receiver then drops what it staged unless it finished) and ends ssh. */
  close(): void {
    this.child.stdin!.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    t.unref();
    this.child.once('close', () => clearTimeout(t));
  }
}
