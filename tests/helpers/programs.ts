// A recording double for the program seam (util/proc launch): every program vserver starts is
// recorded with its argv and what it read, and answered as the test chooses, without running it.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { useLauncher, type StartOptions } from '../../src/util/proc.js';

export interface Call {
  file: string;
  args: string[];
  /** What the program was given on stdin so far. */
  input: string;
}

export interface Result {
  code?: number;
  stdout?: string;
  stderr?: string;
}

/**
 * How one call is answered: a result at once (after its input ended, if it has any), a result
 * made from its input, an interactive program answering line by line (like `ip -batch -`), or a
 * real program run in its place.
 */
export type Answer =
  | Result
  | { reply: (input: string) => Result }
  | { lines: (line: string, n: number) => string | Error }
  | { real: [string, string[]] };

/** A child process that runs nothing: its streams and events are driven by the answer. */
class FakeChild extends EventEmitter {
  readonly stdin: Writable | null;
  readonly stdout: PassThrough | null;
  readonly stderr: PassThrough | null;
  readonly stdio: (Writable | PassThrough | null)[];
  readonly pid = 0x3fffff;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  killed = false;
  private ended = false;

  constructor(stdio: StartOptions['stdio'], onInput: (chunk: string) => void, onEnd: () => void) {
    super();
    const kinds = typeof stdio === 'string' ? [stdio, stdio, stdio] : stdio;
    const piped = (i: number) => kinds[i] === 'pipe' || kinds[i] === 'overlapped';
    // a pipe's end is a socket, which a caller may unref
    this.stdin = piped(0)
      ? Object.assign(
          new Writable({
            write: (chunk: Buffer, _enc, cb) => {
              if (!this.ended) onInput(chunk.toString('utf8'));
              cb();
            },
            final: (cb) => {
              onEnd();
              cb();
            },
          }),
          { ref() {}, unref() {} },
        )
      : null;
    this.stdout = piped(1) ? new PassThrough() : null;
    this.stderr = piped(2) ? new PassThrough() : null;
    this.stdio = [this.stdin, this.stdout, this.stderr, ...kinds.slice(3).map((_, i) => (piped(i + 3) ? new PassThrough() : null))];
    if (!this.stdin) setImmediate(onEnd);
  }

  /** Ends the program: its output streams close, then 'exit' and 'close' as Node emits them. */
  finish(code: number | null, signal: NodeJS.Signals | null = null): void {
    if (this.ended) return;
    this.ended = true;
    this.exitCode = code;
    this.signalCode = signal;
    for (const s of this.stdio.slice(1)) if (s instanceof PassThrough) s.end();
    setImmediate(() => {
      this.emit('exit', code, signal);
      setImmediate(() => this.emit('close', code, signal));
    });
  }

  write(which: 'stdout' | 'stderr', text: string | undefined): void {
    if (text && !this.ended) this[which]?.write(text);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    this.killed = true;
    this.finish(null, signal);
    return true;
  }

  ref(): void {}
  unref(): void {}
}

export class Programs {
  readonly calls: Call[] = [];
  private readonly restore: () => void;

  /** Puts the double in place until dispose(); `answer` is asked for each call, in order. */
  constructor(private readonly answer: (call: Call, index: number) => Answer) {
    this.restore = useLauncher((file, args, opts) => this.launch(file, args, opts));
  }

  dispose(): void {
    this.restore();
  }

  /** Each call as one line: the program and its arguments. */
  argv(): string[] {
    return this.calls.map((c) => [c.file, ...c.args].join(' '));
  }

  private launch(file: string, args: readonly string[], opts: StartOptions): ChildProcess {
    const call: Call = { file, args: [...args], input: '' };
    const index = this.calls.push(call) - 1;
    const answer = this.answer(call, index);
    if ('real' in answer) return spawn(answer.real[0], answer.real[1], opts);
    let child: FakeChild;
    const give = (r: Result) => {
      child.write('stdout', r.stdout);
      child.write('stderr', r.stderr);
      child.finish(r.code ?? 0);
    };
    let pending = '';
    let n = 0;
    const onInput = (text: string) => {
      call.input += text;
      if (!('lines' in answer)) return;
      pending += text;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const out = answer.lines(line, ++n);
        // as ip -batch reports a failed line, and stops
        if (out instanceof Error) return give({ code: 1, stderr: `Error: ${out.message}\nCommand failed -:${n}\n` });
        child.write('stdout', out);
      }
    };
    const onEnd = () => give('reply' in answer ? answer.reply(call.input) : 'lines' in answer ? {} : answer);
    child = new FakeChild(opts.stdio, onInput, onEnd);
    return child as unknown as ChildProcess;
  }
}
