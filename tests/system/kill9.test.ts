// The kill-9 harness: build, clone, import, export, start, stop, restart, delete, limit and gc are
// killed with SIGKILL at named points
// (VSERVER_CRASH_AT), and after each kill: one gc leaves nothing behind, no file of any guest is
// lost, the next command works or fails clearly, and a limit's config and kernel agree.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupReader } from '../../src/resources/cgroup.js';
import { until } from '../helpers/guests.js';
import { IS_ROOT, TestRoot } from '../helpers/host.js';
import { cleanUpNetworkTest, TestNetns } from '../helpers/netns.js';

const KILLED = 137;
const M = 2 ** 20;

interface Trial {
  command: string;
  point: string;
  args: () => string[];
  /** The guest the command makes, removed after the trial. */
  makes?: string;
  before?: () => Promise<void>;
}

describe.skipIf(!IS_ROOT)('kill -9 at every named point', () => {
  const t = new TestRoot('kill9');
  const exported = join(t.root, 'src.vse');
  const rows: string[][] = [];
  let memory = 64;

  beforeAll(async () => {
    await t.ok(['build', 'keep']);
    writeFileSync(join(t.paths.rootfs('keep'), 'root/data'), 'keep\n');
    await t.ok(['build', 'src']);
    writeFileSync(join(t.paths.rootfs('src'), 'root/data'), 'src\n');
    await t.ok(['export', 'src', exported]);
    await t.ok(['build', 'live', '--init', 'cmd', '--', '/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done']);
    await t.ok(['start', 'live']);
    writeFileSync(join(t.paths.rootfs('live'), 'root/data'), 'live\n');
    await t.ok(['limit', 'live', 'memory.max', '64M']);
  });
  afterAll(async () => {
    console.log(
      `kill-9 harness: ${rows.length} trials\n${['command', 'point', 'exit', 'gc', 'clean', 'files', 'next'].join('\t')}\n` +
        rows.map((r) => r.join('\t')).join('\n'),
    );
    await t.cleanup();
  });

  /** A guest that died behind vserver's back, and a build directory of a dead build: work for gc. */
  async function gcWork(): Promise<void> {
    await t.ok(['build', 'dead', '--init', 'cmd', '--', '/bin/sh', '-c', 'sleep 1000']);
    await t.ok(['start', 'dead']);
    process.kill(await t.pid('dead'), 'SIGKILL');
    await until(async () => (await t.cli(['running', 'dead'])).code === 1, 'the guest to be dead');
    mkdirSync(join(t.paths.guestsDir, '.build-x-4000/rootfs'), { recursive: true });
  }

  /** A directory of its own for an export's target, where a killed export must leave nothing. */
  async function outDir(): Promise<void> {
    mkdirSync(join(t.root, 'out'), { recursive: true });
  }

  /** The guest of the stop trials, stopped, for start. */
  async function stoppedGuest(): Promise<void> {
    await runningGuest();
    await t.ok(['stop', 'sg', '--timeout', '0']);
  }

  /** A running guest with a file of its own, for stop, restart and delete. */
  async function runningGuest(): Promise<void> {
    if (!existsSync(t.paths.guestConfig('sg'))) {
      await t.ok(['build', 'sg', '--init', 'cmd', '--', '/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done']);
    }
    writeFileSync(join(t.paths.rootfs('sg'), 'root/data'), 'sg\n');
    if ((await t.cli(['running', 'sg'])).code !== 0) await t.ok(['start', 'sg']);
  }

  const trials: Trial[] = [
    ...['build:reserved', 'build:filled', 'place:moved', 'place:written'].map((point) => ({
      command: 'build',
      point,
      args: () => ['build', 'b1'],
      makes: 'b1',
    })),
    ...['build:reserved', 'build:filled', 'place:moved', 'place:written'].map((point) => ({
      command: 'clone',
      point,
      args: () => ['build', 'c1', '--clone', 'src'],
      makes: 'c1',
    })),
    ...['import:reserved', 'import:extracted', 'place:moved', 'place:written'].map((point) => ({
      command: 'import',
      point,
      args: () => ['import', exported, '--name', 'i1'],
      makes: 'i1',
    })),
    ...['limit:applied', 'limit:saved'].map((point) => ({
      command: 'limit',
      point,
      args: () => ['limit', 'live', 'memory.max', `${(memory = memory === 64 ? 96 : 64)}M`],
    })),
    ...['stop', 'restart', 'delete'].flatMap((command) =>
      ['stop:killed', 'teardown:deleted'].map((point) => ({
        command,
        point,
        args: () => (command === 'delete' ? ['delete', '--force', 'sg'] : [command, 'sg', '--timeout', '0']),
        before: runningGuest,
        makes: 'sg',
      })),
    ),
    ...['gc:guests', 'gc:trees'].map((point) => ({ command: 'gc', point, args: () => ['gc'], before: gcWork, makes: 'dead' })),
    { command: 'export', point: 'export:written', args: () => ['export', 'src', join(t.root, 'out', 'src.tar.zst')], before: outDir },
    ...['start:network', 'start:launched'].map((point) => ({
      command: 'start',
      point,
      args: () => ['start', 'sg'],
      before: stoppedGuest,
      makes: 'sg',
    })),
  ];

  /** What one gc could not remove: leaks of anything but the running guest, stray directories and marks. */
  function leftovers(leaks: string[], running: string[] = []): string[] {
    const ours = new RegExp(`\\b(${['live', ...running].join('|')})(\\.lock)?$|-(${['live', ...running].join('|')})$`);
    const out = leaks.filter((l) => !ours.test(l));
    for (const e of readdirSync(t.paths.guestsDir)) {
      if (!existsSync(t.paths.guestConfig(e))) out.push(`tree ${e}`);
      else if (existsSync(join(t.paths.guestDir(e), '.building'))) out.push(`mark in ${e}`);
    }
    if (existsSync(join(t.paths.run, 'probe'))) out.push('probe directory');
    if (existsSync(t.paths.limitChange('live'))) out.push('limit change mark');
    for (const e of existsSync(join(t.root, 'out')) ? readdirSync(join(t.root, 'out')) : []) out.push(`export file ${e}`);
    if (existsSync(join(t.paths.run, 'exports')) && readdirSync(join(t.paths.run, 'exports')).length > 0) out.push('export record');
    return out;
  }

  function agree(): boolean {
    const cfg = parseToml(readFileSync(t.paths.guestConfig('live'), 'utf8')) as { limits: { memory: { max: string } } };
    return cgroupReader().limits(t.paths.cgroupName('live'))?.memoryMax === parseInt(cfg.limits.memory.max, 10) * M;
  }

  it.each(trials.map((tr) => [`${tr.command} at ${tr.point}`, tr] as const))('%s', async (_label, tr) => {
    await tr.before?.();
    const r = await t.cli(tr.args(), { env: { VSERVER_CRASH_AT: tr.point } });
    expect(r.code, r.stderr).toBe(KILLED);
    const gc = await t.cli(['gc']);
    // a start killed once the runtime ran leaves a running guest, which is no leftover
    const running = tr.command === 'start' && (await t.cli(['running', 'sg'])).code === 0 ? ['sg'] : [];
    const left = leftovers(await t.leaks(), running);
    const guests = ['keep', 'src', 'live', ...(tr.makes === 'sg' && existsSync(t.paths.guestConfig('sg')) ? ['sg'] : [])];
    const kept = guests.every((g) => readFileSync(join(t.paths.rootfs(g), 'root/data'), 'utf8') === `${g}\n`);
    // the next command: the same again works, or fails clearly when the killed one had finished its work
    const next = await t.cli(tr.command === 'limit' ? ['limit', 'live', 'memory.max', `${memory}M`] : tr.args());
    // a stop or delete that got as far as the kill finds the guest stopped or gone: 7 and 4 say so
    const clearly =
      (tr.command === 'stop' && next.code === 7) ||
      (tr.command === 'delete' && next.code === 4) ||
      // a start killed once the runtime ran finds its guest running, which gc left alone
      (tr.command === 'start' && next.code === 6) ||
      (next.code === 12 && tr.makes !== undefined && existsSync(t.paths.guestConfig(tr.makes)));
    const nextOk = next.code === 0 || clearly;
    rows.push([
      tr.command,
      tr.point,
      String(r.code),
      String(gc.code),
      left.length === 0 ? 'yes' : left.join(', '),
      kept ? 'kept' : 'LOST',
      `${next.code}${tr.command === 'limit' ? (agree() ? ' agree' : ' DIFFER') : ''}`,
    ]);
    expect(gc.code, gc.stderr).toBe(0);
    expect(left).toEqual([]);
    expect(kept).toBe(true);
    expect(nextOk, next.stderr).toBe(true);
    if (tr.command === 'limit') expect(agree()).toBe(true);
    if (tr.command === 'gc') expect(await t.ok(['gc'])).toBe('nothing to clean up\n');
    if (tr.makes && tr.makes !== 'sg' && existsSync(t.paths.guestConfig(tr.makes))) await t.ok(['delete', '--force', tr.makes]);
    if (tr.command === 'export') {
      expect(readdirSync(join(t.root, 'out'))).toEqual(['src.tar.zst']); // the export done again is whole
      rmSync(join(t.root, 'out'), { recursive: true });
    }
  });
});

describe.skipIf(!IS_ROOT)('kill -9 of a bridged start', () => {
  const host = new TestNetns('k9br');
  const t = new TestRoot('k9br', { netns: host.name });

  beforeAll(async () => {
    await host.create();
    await t.ok(['build', 'br1']);
    await t.ok(['config', 'br1', 'interfaces', '[{mode="bridge", ports=["8080:80"]}]']);
  });
  afterAll(() => cleanUpNetworkTest(t, [host]));

  it.each(['start:network', 'start:launched'])(
    'at %s: one gc leaves no device, table or state, and the next start works',
    async (point) => {
      const r = await t.cli(['start', 'br1'], { env: { VSERVER_CRASH_AT: point } });
      expect(r.code, r.stderr).toBe(KILLED);
      expect((await t.cli(['gc'])).code).toBe(0);
      const running = (await t.cli(['running', 'br1'])).code === 0;
      if (!running) {
        // nothing of the killed start is left on the host: only loopback, no table, no state
        expect(await host.links()).toEqual(['lo']);
        expect(await host.nftTables()).toEqual([]);
        expect(await t.leaks()).toEqual([]);
      }
      const next = await t.cli(['start', 'br1']);
      expect(next.code === 0 || (running && next.code === 6), next.stderr).toBe(true);
      expect((await t.cli(['exec', 'br1', '--', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).stdout).toMatch(/inet 10\.47\./);
      await t.ok(['stop', 'br1', '--timeout', '0']);
      expect(await host.links()).toEqual(['lo']);
      expect(await t.leaks()).toEqual([]);
    },
  );
});
