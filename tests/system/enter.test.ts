// `vserver enter` opens a login shell on a pseudo-terminal; script(1) plays the user's terminal.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, IS_ROOT, TestRoot } from '../helpers/host.js';

describe.skipIf(!IS_ROOT)('enter', () => {
  const t = new TestRoot('enter');
  beforeAll(async () => {
    await t.ok(['build', 'sh1']);
    await t.ok(['start', 'sh1']);
  });
  afterAll(() => t.cleanup());

  it('gives an interactive shell on a terminal inside the guest and passes its exit code', async () => {
    // the command string is fixed; the variable parts reach it through the environment
    const child = spawn('script', ['-q', '-e', '-c', '"$VS_NODE" "$VS_CLI" enter "$VS_GUEST"', '/dev/null'], {
      env: t.env({ VS_NODE: process.execPath, VS_CLI: CLI, VS_GUEST: 'sh1' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stdin.end('tty; [ -t 0 ] && echo "is-a-terminal"; echo "host:$(hostname)"; exit 5\n');
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
    expect(out).toMatch(/^\/dev\/pts\/\d+\r?$/m);
    expect(out).toMatch(/^is-a-terminal\r?$/m);
    expect(out).toMatch(/^host:sh1\r?$/m);
    expect(code).toBe(5);
  });

  it('refuses a guest that is not running', async () => {
    await t.ok(['stop', 'sh1', '--timeout', '0']);
    const r = await t.cli(['enter', 'sh1']);
    expect(r.code).toBe(7);
  });
});
