// Handing a guest's limits to the runtime, whatever limits our caller had.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { softNofileArgv, withRaisedLimits } from '../../src/runtime/rlimit-launch.js';
import { rlimitsFromJson } from '../../src/oci/rlimit.js';
import { canRaiseLimits, rlimitCeiling } from '../../src/util/procfs.js';

const own = new Map([
  ['RLIMIT_NOFILE', { soft: 1024, hard: 4096 }],
  ['RLIMIT_CORE', { soft: 0, hard: Infinity }],
]);
const guest = [
  { type: 'RLIMIT_NOFILE', soft: 2048, hard: 65536 },
  { type: 'RLIMIT_CORE', soft: 0, hard: Infinity },
];

describe('rlimits for the runtime', () => {
  it('runs the command from PATH, not a shell built-in of that name, with its arguments intact', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vs-path-'));
    writeFileSync(join(dir, 'echo'), '#!/bin/sh\nprintf "ours:%s|" "$@"\n', { mode: 0o755 });
    const [, , script, , ...argv] = softNofileArgv(['echo', 'a b', '$x'], guest);
    for (const shell of ['sh', 'busybox']) {
      const args = shell === 'busybox' ? ['sh', '-c', script!, '77', ...argv] : ['-c', script!, '77', ...argv];
      const out = execFileSync(shell, args, { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: 'utf8' });
      expect(out).toBe('ours:a b|ours:$x|');
    }
    const limit = execFileSync('sh', ['-c', script!, '77', 'sh', '-c', 'ulimit -S -n'], { encoding: 'utf8' });
    expect(limit.trim()).toBe('77');
    rmSync(dir, { recursive: true });
  });

  it('runs the runtime as it is when our hard limits are high enough', () => {
    expect(withRaisedLimits('/usr/bin/runc', ['exec', 'g'], [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 4096 }], own, () => true)).toEqual([
      '/usr/bin/runc',
      ['exec', 'g'],
    ]);
  });

  it('raises only the hard limits that are too low, with prlimit in front', () => {
    expect(withRaisedLimits('/usr/bin/runc', ['exec', 'g'], guest, own, () => true)).toEqual([
      'prlimit',
      ['--nofile=:65536', '--', '/usr/bin/runc', 'exec', 'g'],
    ]);
    expect(
      withRaisedLimits(
        'runc',
        [],
        [{ type: 'RLIMIT_MEMLOCK', soft: 1, hard: Infinity }],
        new Map([['RLIMIT_MEMLOCK', { hard: 65536 }]]),
        () => true,
      ),
    ).toEqual(['prlimit', ['--memlock=:unlimited', '--', 'runc']]);
  });

  it('says what to do when it cannot raise them', () => {
    expect(() => withRaisedLimits('runc', [], guest, own, () => false)).toThrow(/no CAP_SYS_RESOURCE\): nofile 4096 < 65536/);
  });

  it("puts a soft open-files limit back with the guest's shell, and leaves equal limits alone", () => {
    const [sh, c, script, soft, ...rest] = softNofileArgv(['ls', '-l', 'a b'], guest);
    expect([sh, c, soft, rest]).toEqual(['/bin/sh', '-c', '2048', ['ls', '-l', 'a b']]);
    expect(script).toMatch(/^ulimit -S -n "\$0"/);
    expect(softNofileArgv(['ls'], [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 10 }])).toEqual(['ls']);
    expect(softNofileArgv(['ls'], [])).toEqual(['ls']);
  });

  it('reads limits back from a config.json, where unlimited is RLIM_INFINITY', () => {
    const json = JSON.parse(
      '[{"type":"RLIMIT_CORE","soft":18446744073709551615,"hard":18446744073709551615},{"type":"RLIMIT_NOFILE","soft":5,"hard":"x"}]',
    );
    expect(rlimitsFromJson(json)).toEqual([{ type: 'RLIMIT_CORE', soft: Infinity, hard: Infinity }]);
    expect(rlimitsFromJson(undefined)).toEqual([]);
  });

  it('knows CAP_SYS_RESOURCE from the effective capabilities, and the ceiling it gives', () => {
    expect(canRaiseLimits('CapEff:\t000001ffffffffff\n')).toBe(true);
    expect(canRaiseLimits('CapEff:\t000001fffeffffff\n')).toBe(false);
    expect(rlimitCeiling(own, true, () => 1048576).get('RLIMIT_NOFILE')).toEqual({ hard: 1048576 });
    expect(rlimitCeiling(own, true, () => 1048576).get('RLIMIT_CORE')).toEqual({ hard: Infinity });
    expect(rlimitCeiling(own, false)).toBe(own);
  });
});
