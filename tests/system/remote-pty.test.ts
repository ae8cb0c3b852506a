// `vserver --remote R enter` against a real vserverd over its TLS listener, on a real terminal:
// script(1) gives the CLI a pseudo-terminal, the test types into it and reads the screen.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/guests.js';
import { CLI, IS_ROOT, TestRoot } from '../helpers/host.js';
import { startTlsDaemon, stopDaemon } from '../helpers/tls-daemon.js';

/** Fixed; what varies reaches it through the environment. It records the terminal's device, then becomes the CLI. */
const SESSION =
  'if [ -n "$VS_ROWS" ]; then stty rows "$VS_ROWS" cols "$VS_COLS"; fi; tty > "$VS_TTY_FILE"; ' +
  'exec "$VS_NODE" "$VS_CLI" --remote here enter "$VS_GUEST"';

/** The user's side of a terminal session: what is typed, what is on the screen, and the exit code. */
class Terminal {
  private readonly child: ChildProcess;
  screen = '';
  readonly exit: Promise<number>;

  constructor(
    t: TestRoot,
    guest: string,
    readonly ttyFile: string,
    size?: { rows: number; cols: number },
  ) {
    this.child = spawn('script', ['-q', '-e', '-c', SESSION, '/dev/null'], {
      env: t.env({
        VS_NODE: process.execPath,
        VS_CLI: CLI,
        VS_GUEST: guest,
        VS_TTY_FILE: ttyFile,
        VS_ROWS: size ? String(size.rows) : '',
        VS_COLS: size ? String(size.cols) : '',
      }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    for (const s of [this.child.stdout!, this.child.stderr!])
      s.on('data', (b: Buffer) => {
        this.screen += b.toString();
      });
    this.exit = new Promise((resolve) => this.child.on('close', (c) => resolve(c ?? -1)));
  }

  type(text: string): void {
    this.child.stdin!.write(text);
  }

  /** Waits until a line of the screen is exactly `line` (the terminal's echo of a command never is). */
  async sees(line: string, what = line): Promise<void> {
    const re = new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\r*$`, 'm');
    await until(async () => re.test(this.screen), `${what} on the screen; it shows:\n${this.screen}`, 30_000);
  }

  /** Runs a command in the guest's shell and waits for its end: the marker is computed, so its echo does not match. */
  async run(command: string, n: number): Promise<string> {
    const from = this.screen.length;
    this.type(`${command}; echo "end-$((${n}+0))"\n`);
    await this.sees(`end-${n}`, `the end of '${command}'`);
    return this.screen.slice(from);
  }

  /** The host's device of the CLI's terminal. */
  device(): string {
    return readFileSync(this.ttyFile, 'utf8').trim();
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

describe.skipIf(!IS_ROOT)('vserver --remote enter against vserverd over HTTPS', () => {
  const t = new TestRoot('rpty');
  let daemon: ChildProcess | undefined;
  beforeAll(async () => {
    daemon = await startTlsDaemon(t, 'here');
    await t.ok(['build', 'p1']);
    await t.ok(['start', 'p1']);
  }, 120_000);
  afterAll(async () => {
    await stopDaemon(daemon);
    await t.cleanup();
  });

  it('gives a shell on a terminal of the size the user has, follows a resize, delivers Ctrl-C and passes the exit code', async () => {
    const term = new Terminal(t, 'p1', join(t.root, 'tty-1'), { rows: 20, cols: 50 });
    try {
      expect(await term.run('hostname', 1)).toMatch(/^p1\r*$/m);
      expect(await term.run('tty; stty size', 2)).toMatch(/^\/dev\/pts\/\d+\r*\n20 50\r*$/m);
      // the user's window changes: the kernel tells the CLI (SIGWINCH), which tells the daemon
      execFileSync('stty', ['-F', term.device(), 'rows', '33', 'cols', '77']);
      let size = '';
      for (let i = 3; i < 50 && !/^33 77\r*$/m.test(size); i++) size = await term.run('stty size', i);
      expect(size).toMatch(/^33 77\r*$/m);

      // Ctrl-C ends the command in the foreground, not the shell; without it sleep would end with 0 after 600 s
      term.type('sleep 600\n');
      await until(async () => /sleep 600/.test(await t.ok(['exec', 'p1', '--', 'ps'])), 'sleep to run in the guest', 30_000);
      term.type('\x03');
      expect(await term.run('echo "status $?"', 100)).toMatch(/^status 130\r*$/m);
      expect(await t.ok(['exec', 'p1', '--', 'ps'])).not.toMatch(/sleep 600/);

      term.type('exit 7\n');
      expect(await term.exit).toBe(7);
    } finally {
      term.kill();
    }
  }, 180_000);

  it('works on a terminal that has no size set, and a shell ended by a signal exits with 128 + its number', async () => {
    const term = new Terminal(t, 'p1', join(t.root, 'tty-2'));
    try {
      expect(await term.run('hostname', 1)).toMatch(/^p1\r*$/m);
      term.type('kill -KILL $$\n');
      expect(await term.exit).toBe(137);
    } finally {
      term.kill();
    }
  }, 120_000);
});
