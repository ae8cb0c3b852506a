// The CLI's output going to a reader that stops early (vserver ps | head): no stack trace, and the
// command's own exit status.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, IS_ROOT, TestRoot } from '../helpers/host.js';

/**
 * Runs the CLI with its standard output on a pipe whose reading end is already closed, so that
 * every write fails with EPIPE, whatever the timing (Python makes the pipe; Node cannot).
 */
function intoClosedPipe(args: string[], env: NodeJS.ProcessEnv): { code: number; stderr: string } {
  const py =
    'import os, subprocess, sys\nr, w = os.pipe()\nos.close(r)\n' +
    'p = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.PIPE)\nsys.stderr.buffer.write(p.stderr)\nsys.exit(p.returncode)\n';
  const r = spawnSync('python3', ['-c', py, process.execPath, CLI, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stderr: r.stderr };
}

describe.skipIf(!IS_ROOT)('output into a closed pipe', () => {
  const t = new TestRoot('epipe');

  it('ends help, list, ps and a failing command without a stack trace, with their own status', async () => {
    try {
      await t.ok(['build', 'p1']);
      for (const args of [['--help'], ['list'], ['ps', 'aux'], ['status', 'p1']]) {
        const r = intoClosedPipe(args, t.env());
        expect(r.stderr, args.join(' ')).not.toMatch(/EPIPE|Error|at /);
        expect(r.code, args.join(' ')).toBe(args[0] === 'status' ? 3 : 0);
      }
      const missing = intoClosedPipe(['status', 'nosuch'], t.env());
      expect(missing.code).toBe(4);
      expect(missing.stderr).toMatch(/^vserver: .*nosuch/);
    } finally {
      await t.cleanup();
    }
  });
});
