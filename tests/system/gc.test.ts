// gc finds what killed commands left, all of it in one run, and names each thing it removes;
// what a living command is working on stays.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { processStartTime } from '../../src/util/procfs.js';
import { IS_ROOT, TestRoot } from '../helpers/host.js';
import { until } from '../helpers/guests.js';

/** A process that lives until killed, and the lock text naming it as a holder. */
async function holder(): Promise<{ child: ChildProcess; as: (what: string) => string }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  const start = processStartTime(child.pid!)!;
  return { child, as: (what) => `${child.pid}:${start}:${what}` };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

describe.skipIf(!IS_ROOT)('gc', () => {
  let t: TestRoot;
  const living: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of living.splice(0)) await kill(c);
    await t.cleanup();
  });

  it('removes every leftover of killed commands in one run and names each', async () => {
    t = new TestRoot('gc');
    await t.ok(['build', 'keep']);
    writeFileSync(join(t.paths.rootfs('keep'), 'root/data'), 'precious\n');
    // a guest that died behind vserver's back: runtime state, bundle, cgroup
    await t.ok(['build', 'died', '--init', 'cmd', '--', '/bin/sh', '-c', 'sleep 1000 & sleep 1000 & wait']);
    await t.ok(['start', 'died']);
    process.kill(await t.pid('died'), 'SIGKILL');
    await until(async () => (await t.cli(['running', 'died'])).code === 1, 'the guest to be dead');

    const g = t.paths.guestsDir;
    mkdirSync(join(g, '.build-x-150/rootfs/etc'), { recursive: true });
    mkdirSync(join(g, '.delete-y-k3j2/rootfs/etc'), { recursive: true });
    mkdirSync(join(g, 'half/rootfs/etc'), { recursive: true });
    writeFileSync(join(g, 'half/.building'), '');
    mkdirSync(join(t.paths.templatesDir, '.build-tpl-151/rootfs'), { recursive: true });
    mkdirSync(join(t.paths.run, 'probe/runc-999999/rootfs/bin'), { recursive: true });
    mkdirSync(join(t.paths.run, 'probe/state-999999'), { recursive: true });
    const dead = await holder();
    await kill(dead.child);
    symlinkSync(dead.as('vserver stop keep'), t.paths.lock('keep'));
    writeFileSync(t.paths.lock('zero'), ''); // what an older version left on a full disk

    // the control: a build in progress (its holder lives) keeps its directory and its lock
    const live = await holder();
    living.push(live.child);
    mkdirSync(join(g, '.build-busy-152/rootfs'), { recursive: true });
    symlinkSync(live.as('vserver build busy'), t.paths.lock('busy'));

    const out = await t.ok(['gc']);
    expect(out).toMatch(/^died: removed runtime state, bundle(, cgroup)?$/m);
    expect(out).toMatch(/^x: removed build directory \.build-x-150$/m);
    expect(out).toMatch(/^y: removed half-deleted tree \.delete-y-k3j2$/m);
    expect(out).toMatch(/^half: removed unfinished build \(a tree without config\) half$/m);
    expect(out).toMatch(/^template tpl: removed build directory \.build-tpl-151$/m);
    expect(out).toMatch(
      /^host: removed lock keep\.lock of a dead command, lock zero\.lock of a dead command, probe directory probe\/runc-999999, probe directory probe\/state-999999$/m,
    );
    expect(out).not.toMatch(/busy/);

    expect(readdirSync(g).sort()).toEqual(['.build-busy-152', 'died', 'keep']);
    expect(readdirSync(t.paths.templatesDir)).toEqual([]);
    expect(existsSync(join(t.paths.run, 'probe'))).toBe(false);
    expect(readdirSync(t.paths.locks)).toEqual(['busy.lock']);
    expect(readFileSync(join(t.paths.rootfs('keep'), 'root/data'), 'utf8')).toBe('precious\n');
    // one run was enough
    expect(await t.ok(['gc'])).toBe('nothing to clean up\n');
    await kill(live.child);
    expect((await t.ok(['gc'])).trim().split('\n').sort()).toEqual([
      'busy: removed build directory .build-busy-152',
      'host: removed lock busy.lock of a dead command',
    ]);
    expect(await t.leaks()).toEqual([]);
  });
});
