// What the kernel counts per user is shared by every guest and host root unless each guest has a
// share: one guest takes all it may of each, and the other guest and host root carry on.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

const HOST_TOML = `[guest_defaults.limits]
pids.max = 64
rlimits.msgqueue = "200K"
[guest_defaults.user]
max_inotify_instances = 8
`;

describe.skipIf(!IS_ROOT)('per-user kernel limits with two guests', () => {
  const t = new TestRoot('shared-limits');
  const scratch = mkdtempSync(join(tmpdir(), 'vst-hog-'));
  const hog = join(scratch, 'hog');
  afterAll(async () => {
    await t.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Runs the hog in a guest; "hold" keeps what it took, in the background, its line in /tmp/KIND. */
  const hold = async (g: string, kind: string): Promise<string> => {
    await t.ok(['exec', g, '--', 'sh', '-c', `/hog hold ${kind} > /tmp/${kind} 2>&1 &`]);
    for (let i = 0; i < 200; i++) {
      const out = (await t.ok(['exec', g, '--', 'cat', `/tmp/${kind}`])).trim();
      if (out !== '') return out;
    }
    throw new Error(`the hog in ${g} printed nothing`);
  };
  const one = async (g: string, kind: string) => (await t.ok(['exec', g, '--', '/hog', 'one', kind])).trim();
  const onHost = (kind: string) => execFileSync(hog, ['one', kind]).toString().trim();

  beforeAll(async () => {
    execFileSync('gcc', ['-static', '-O2', '-o', hog, join(__dirname, 'shared-limits.c'), '-lrt']);
    mkdirSync(t.paths.etc, { recursive: true });
    writeFileSync(t.paths.hostConfig, HOST_TOML);
    for (const g of ['a', 'b', 'c']) {
      await t.ok(['build', g]);
      const base = JSON.parse((await t.cli(['status', g, '--json'])).stdout).idmap.base;
      execFileSync('install', ['-o', String(base), '-g', String(base), '-m', '0755', hog, join(t.paths.rootfs(g), 'hog')]);
    }
    await t.ok(['start', 'a']);
    await t.ok(['start', 'b']);
  });

  it('gives each guest the /proc/sys/user counts of vserver.toml, and the built-in ones for the rest', async () => {
    expect((await t.ok(['exec', 'a', '--', 'cat', '/proc/sys/user/max_inotify_instances'])).trim()).toBe('8');
    expect((await t.ok(['exec', 'a', '--', 'cat', '/proc/sys/user/max_user_namespaces'])).trim()).toBe('256');
  });

  it('inotify: guest a takes its 8 instances; guest b and host root still get one', async () => {
    expect(await hold('a', 'inotify')).toBe('inotify 8 EMFILE');
    expect(await one('b', 'inotify')).toBe('inotify ok');
    expect(onHost('inotify')).toBe('inotify ok');
  });

  it('POSIX message queues: guest a takes its 200K; guest b and host root still get a queue', async () => {
    const [, n, errno] = (await hold('a', 'mqueue')).split(' ');
    expect(errno).toBe('EMFILE');
    // a default queue holds 10 messages of 8K: two fit in 200K, nowhere near the host's 800K
    expect(Number(n)).toBe(2);
    expect(await one('b', 'mqueue')).toBe('mqueue ok');
    expect(onHost('mqueue')).toBe('mqueue ok');
  });

  it('pids: a fork bomb in guest a stops at 64 processes; guest b and the host still fork', async () => {
    await t.cli([
      'exec',
      'a',
      '--',
      'sh',
      '-c',
      'i=0; while [ $i -lt 300 ]; do sleep 1000 </dev/null >/dev/null 2>&1 & i=$((i+1)); done >/dev/null 2>&1; true',
    ]);
    const procs = Number(
      (await t.ok(['exec', 'b', '--', 'sh', '-c', 'sleep 0 & wait; echo forked; ls -d /proc/[0-9]* | wc -l'])).split('\n')[1],
    );
    expect(procs).toBeLessThan(64);
    const inA = JSON.parse((await t.cli(['status', 'a', '--json'])).stdout).processes;
    expect(inA).toBeLessThanOrEqual(64);
    expect(inA).toBeGreaterThan(50);
    expect(execFileSync('sh', ['-c', 'true & wait; echo forked']).toString().trim()).toBe('forked');
  });

  it('control: the limits are what stopped guest a: a guest whose own config allows more gets more', async () => {
    writeFileSync(t.paths.hostConfig, HOST_TOML.replace('max_inotify_instances = 8', 'max_inotify_instances = 12'));
    await t.ok(['limit', 'c', 'rlimits.msgqueue', '400K']);
    await t.ok(['limit', 'c', 'pids.max', '100']);
    await t.ok(['start', 'c']);
    expect(await hold('c', 'inotify')).toBe('inotify 12 EMFILE');
    expect(await hold('c', 'mqueue')).toBe('mqueue 4 EMFILE');
    await t.cli([
      'exec',
      'c',
      '--',
      'sh',
      '-c',
      'i=0; while [ $i -lt 300 ]; do sleep 1000 </dev/null >/dev/null 2>&1 & i=$((i+1)); done >/dev/null 2>&1; true',
    ]);
    expect(JSON.parse((await t.cli(['status', 'c', '--json'])).stdout).processes).toBeGreaterThan(64);
  });
});
