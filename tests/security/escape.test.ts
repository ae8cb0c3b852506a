// The escape suite: every known way out of a guest is tried as root inside it, in unprivileged
// (default) and privileged mode. Every attempt must be refused, and the host must be unchanged.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';
import { guestSpec, present, PROTECTIONS, runControl, type Protection } from './controls.js';
import { buildEscapeHelper, installHelper } from './helper.js';
import { ATTEMPTS, MARKER_TEXT, parseSeq, seqArgs, type EscapeFacts } from '../../src/security/escape-attempts.js';
import { table } from './report.js';
import { until } from '../helpers/guests.js';
import { majorMinor } from '../../src/resources/host-facts.js';
import { which } from '../../src/util/which.js';

type Mode = 'unprivileged' | 'privileged';
const MODES = ['unprivileged', 'privileged'] as const;

const sha256 = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
/** Host-wide settings an escape would change; each must read the same after the suite. */
const SETTINGS = [
  '/proc/sys/kernel/core_pattern',
  '/proc/sys/kernel/ctrl-alt-del',
  '/proc/sys/kernel/sysrq',
  '/sys/kernel/uevent_helper',
  '/sys/kernel/mm/transparent_hugepage/enabled',
  '/sys/fs/cgroup/memory/release_agent',
];
const readSettings = () => SETTINGS.filter((f) => existsSync(f)).map((f) => `${f}=${readFileSync(f, 'utf8')}`);

describe.skipIf(!IS_ROOT)('escape suite', () => {
  const t = new TestRoot('sec');
  /** mode -> attempt -> the helper's line in the guest */
  const inGuest = new Map<Mode, Map<string, string>>(MODES.map((m) => [m, new Map()]));
  /** mode -> what was removed ('all' or one protection) -> helper mode -> line */
  const controls = new Map<Mode, Map<string, Map<string, string>>>(MODES.map((m) => [m, new Map()]));
  /** attempt -> why it cannot get through on this host */
  const skips = new Map<string, string>();
  let sleeper: ChildProcess;
  let victim: ChildProcess | undefined;
  let facts: EscapeFacts;
  const before = { hostname: '', settings: [] as string[], realMs: 0, monoMs: 0 };

  beforeAll(async () => {
    sleeper = spawn('sleep', ['3600'], { stdio: 'ignore' });
    const dev = statSync(t.root, { bigint: true }).dev;
    const marker = join(t.root, 'host-marker');
    writeFileSync(marker, MARKER_TEXT);
    const helper = buildEscapeHelper(t.root);
    const handle = execFileSync(helper, ['handle', marker]).toString().trim().split(' ');
    const [diskMajor, diskMinor] = majorMinor(dev);
    facts = { sleeperPid: sleeper.pid!, diskMajor, diskMinor, handle, helper, dir: t.root };
    before.hostname = hostname();
    before.settings = readSettings();
    before.realMs = Date.now();
    before.monoMs = performance.now();
    for (const [g, priv] of [
      ['unpriv', false],
      ['priv', true],
    ] as const) {
      await t.ok(['build', g, '--backend', 'dir', ...(priv ? ['--privileged'] : [])]);
      const owner = JSON.parse((await t.cli(['status', g, '--json'])).stdout).idmap?.base ?? 0;
      installHelper(facts.helper, t.paths.rootfs(g), owner);
      await t.ok(['start', g]);
    }
  });

  afterAll(async () => {
    sleeper?.kill('SIGKILL');
    victim?.kill('SIGKILL');
    await t.cleanup();
    const rows = MODES.flatMap((mode) => [
      ...ATTEMPTS.map((a) => ({ name: a.name, mode, key: a.args(facts)[0]!, skipped: skips.get(a.name) })),
      { name: 'overwrite the runtime through /proc/PID/exe', mode, key: 'exe' },
    ]);
    console.log(table(rows, inGuest, controls));
  });

  for (const mode of MODES) {
    const guest = mode === 'unprivileged' ? 'unpriv' : 'priv';
    for (const a of ATTEMPTS) {
      it(`${a.name} (${mode})`, async (ctx) => {
        const why = await a.notHere?.(facts);
        if (why) skips.set(a.name, why);
        if (why) ctx.skip(`cannot get through on this host whatever the confinement: ${why}`);
        const r = await t.cli(['exec', guest, '--', '/usr/local/bin/escape', ...a.args(facts)]);
        const line = r.stdout.trim().split('\n').pop() ?? `no answer (exit ${r.code}: ${r.stderr.trim()})`;
        inGuest.get(mode)!.set(a.args(facts)[0]!, line);
        expect(line, r.stderr).toMatch(/^BLOCKED /);
      });
    }

    it(`overwrite the runtime binary through /proc/PID/exe, CVE-2019-5736 (${mode})`, async () => {
      // the helper waits for a runtime process in the guest; the host runs commands in it until then
      const result = '/tmp/escape-exe.result';
      let finished = false;
      const watcher = t.cli(['exec', guest, '--', '/usr/local/bin/escape', 'exe', '60', '0', result]).finally(() => {
        finished = true;
      });
      for (let i = 0; i < 100 && !finished; i++) await t.cli(['exec', guest, '--', 'true']);
      const r = await watcher;
      let line = r.stdout.trim().split('\n').pop() ?? '';
      if (line.startsWith('HELD ')) {
        // it holds a handle; its child retries once no runtime runs for this guest, and writes the answer
        const answer = join(t.paths.rootfs(guest), result);
        await until(async () => existsSync(answer) && readFileSync(answer, 'utf8').endsWith('\n'), "the helper's answer", 90_000);
        line = readFileSync(answer, 'utf8').trim();
      }
      inGuest.get(mode)!.set('exe', line);
      expect(line, r.stderr).toMatch(/^BLOCKED /);
      expect(line).not.toMatch(/no runtime process seen/);
    });
  }

  // Positive controls: the same attempts in the same guest's container, with protections removed.
  for (const mode of MODES) {
    const guest = mode === 'unprivileged' ? 'unpriv' : 'priv';
    describe(`controls (${mode})`, () => {
      beforeAll(async () => {
        const seq = seqArgs(ATTEMPTS, facts);
        const spec = guestSpec(t, guest);
        // everything removed; each protection removed alone; each protection kept alone ("only ...")
        const here = PROTECTIONS.filter((p) => present(spec, p));
        const runs: [string, Protection[]][] = [
          ['all', [...PROTECTIONS]],
          ...here.map((p): [string, Protection[]] => [p, [p]]),
          ...here.map((p): [string, Protection[]] => [`only ${p}`, PROTECTIONS.filter((x) => x !== p)]),
        ];
        for (const [label, removed] of runs) {
          const r = await runControl(t, guest, removed, ['/usr/local/bin/escape', ...seq]);
          const lines = parseSeq(r.stdout);
          if (lines.size === 0) lines.set('error', `the container did not run: ${r.stderr.trim()}`);
          controls.get(mode)!.set(label, lines);
        }
      }, 600_000);

      for (const a of ATTEMPTS) {
        it(`${a.name} gets through with every protection removed (${mode})`, async (ctx) => {
          const why = await a.notHere?.(facts);
          if (why) ctx.skip(`no control possible: ${why}`);
          const all = controls.get(mode)!.get('all')!;
          expect(all.get(a.args(facts)[0]!), all.get('error')).toMatch(/^ESCAPED /);
        });
      }

      it(`the /proc/PID/exe technique rewrites an unsealed binary once its process is gone (${mode})`, async () => {
        // runc always runs from a sealed copy, which cannot be turned off; the control shows that the
        // helper's technique works against a plain binary of a process it can reach
        const bin = join(t.root, 'vs-victim');
        writeFileSync(bin, readFileSync(which('sleep')!), { mode: 0o755 });
        const sum = sha256(bin);
        victim = spawn(bin, ['3600'], { stdio: 'ignore' });
        const r = await runControl(t, guest, [...PROTECTIONS], ['/usr/local/bin/escape', 'exe', '10', String(victim.pid)]);
        controls.get(mode)!.get('all')!.set('exe', r.stdout.trim());
        expect(r.stdout.trim(), r.stderr).toMatch(/^ESCAPED /);
        expect(sha256(bin)).toBe(sum); // a handle for writing was got, nothing was written
      });
    });
  }

  it('leaves the host as it was', () => {
    expect(hostname()).toBe(before.hostname);
    expect(readSettings()).toEqual(before.settings);
    expect(sleeper.exitCode).toBeNull();
    expect(sleeper.signalCode).toBeNull();
    // a clock set from inside moves the real-time clock against the monotonic one
    const drift = Date.now() - before.realMs - (performance.now() - before.monoMs);
    expect(Math.abs(drift)).toBeLessThan(2000);
  });

  it('reboot inside a guest stops that guest only', async () => {
    await t.ok(['build', 'rebooter']);
    await t.ok(['start', 'rebooter']);
    await t.cli(['exec', 'rebooter', '--', 'reboot']);
    let running = 0;
    for (let i = 0; i < 100; i++) {
      running = (await t.cli(['running', 'rebooter'])).code;
      if (running === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(running).toBe(1);
    expect((await t.cli(['running', 'unpriv'])).code).toBe(0);
    expect((await t.cli(['running', 'priv'])).code).toBe(0);
    await t.ok(['start', 'rebooter']); // and it can be started again: nothing stale is left
    await t.ok(['stop', 'rebooter', '--timeout', '0']);
  });

  it('cannot see host processes or write to the host cgroup tree', async () => {
    const ps = await t.ok(['exec', 'unpriv', '--', 'ps', '-o', 'pid']);
    expect(ps).not.toMatch(new RegExp(`\\b${facts.sleeperPid}\\b`));
    // the guest's own pids.max, where this host's layout puts it: there, and refused
    const pidsMax = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup/pids.max' : '/sys/fs/cgroup/pids/pids.max';
    await t.ok(['exec', 'unpriv', '--', 'test', '-f', pidsMax]);
    const w = await t.cli(['exec', 'unpriv', '--', 'sh', '-c', 'echo 1 > "$1"', 'sh', pidsMax]);
    expect(w.code).not.toBe(0);
    expect(w.stderr).toMatch(/Read-only file system|Permission denied/);
  });

  it('shows the privileged guest with a warning in status', async () => {
    const s = await t.cli(['status', 'priv']);
    expect(s.stderr).toMatch(/warning: privileged guest/);
    expect((await t.cli(['status', 'unpriv'])).stderr).not.toMatch(/warning/);
  });
});
