// Many guests at once in one process: bulk start, stop and restart, autostart by mark and start_order,
// and one broken guest among them that blocks nobody. Inside a network namespace of the test's own.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';
import { cleanUpNetworkTest, TestNetns } from '../helpers/netns.js';

interface Line {
  name: string;
  action: string;
  ok: boolean;
  state?: string;
  context?: number;
  note?: string;
  error?: { code: string; message: string };
  interfaces?: { addresses: string[] }[];
}
const lines = (out: string): Line[] =>
  out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat). */
function startTicks(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[19]);
}

/** Gone, or a zombie that only waits for the host's init to reap it. */
function dead(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^[ZX]/.test(s.slice(s.lastIndexOf(')') + 2));
  } catch {
    return true;
  }
}

describe.skipIf(!IS_ROOT)('many guests at once', () => {
  const host = new TestNetns('bulk');
  const t = new TestRoot('bulk', { netns: host.name });
  const names = Array.from({ length: 30 }, (_, i) => `g${String(i + 1).padStart(2, '0')}`);
  const bridged = names.slice(0, 10);

  beforeAll(async () => {
    await host.create();
    mkdirSync(t.paths.etc, { recursive: true });
    writeFileSync(t.paths.hostConfig, '[network]\npool = "10.49.0.0/24"\n');
    for (const g of names) await t.ok(['build', g]);
    for (const g of bridged) await t.ok(['config', g, 'interfaces', '[{mode="bridge"}]']);
  }, 300_000);

  afterAll(() => cleanUpNetworkTest(t, [host]));

  it('starts 30 guests in parallel, each running with its own context and address', async () => {
    const r = await t.cli(['start', '--all', '--jobs', '6', '--json'], { timeoutMs: 300_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const res = lines(r.stdout);
    expect(res.map((x) => [x.name, x.ok, x.state])).toEqual(names.map((n) => [n, true, 'running']));
    const list = JSON.parse(await t.ok(['list', '--json'])) as {
      name: string;
      state: string;
      context: number;
      interfaces?: { addresses: string[] }[];
    }[];
    expect(list.filter((g) => g.state === 'running').map((g) => g.name)).toEqual(names);
    expect(new Set(list.map((g) => g.context)).size).toBe(30);
    const addrs = list.flatMap((g) => g.interfaces?.flatMap((i) => i.addresses) ?? []);
    expect(addrs).toHaveLength(10);
    expect(new Set(addrs).size).toBe(10);
    // the bridged ones answer at their addresses from the host
    for (const a of addrs) expect((await host.exec('busybox', ['ping', '-c', '1', '-W', '5', a.split('/')[0]!])).code).toBe(0);
  }, 300_000);

  it('restarts every guest while another process lists them', async () => {
    const lister = (async () => {
      const codes: number[] = [];
      for (let i = 0; i < 15; i++) {
        const l = await t.cli(['list', '--json']);
        codes.push(l.code);
        expect(JSON.parse(l.stdout)).toHaveLength(30);
      }
      return codes;
    })();
    const pids0 = (JSON.parse(await t.ok(['list', '--json'])) as { pid: number }[]).map((g) => g.pid);
    const r = await t.cli(['restart', '--all', '--timeout', '2', '--json'], { timeoutMs: 300_000 });
    expect(r.code).toBe(0);
    expect(lines(r.stdout).every((x) => x.ok && x.state === 'running')).toBe(true);
    expect(await lister).toEqual(Array(15).fill(0));
    const pids1 = (JSON.parse(await t.ok(['list', '--json'])) as { pid: number }[]).map((g) => g.pid);
    for (const [i, p] of pids1.entries()) expect(p).not.toBe(pids0[i]);
  }, 300_000);

  it('reports a broken guest and a missing one, and starts and stops the others', async () => {
    await t.ok(['stop', '--all', '--timeout', '1']);
    writeFileSync(t.paths.guestConfig('g05'), 'context = "five"\n');
    const r = await t.cli(['start', 'g04', 'g05', 'nosuch', 'g06']);
    expect(r.code).toBe(10); // the first failure's code: g05's config
    expect(r.stdout).toMatch(/^g04: started \(context \d+, 10\.49\.0\.\d+\/24\)$/m);
    expect(r.stdout).toMatch(/^g06: started/m);
    expect(r.stderr).toMatch(/^g05: start failed: .*g05\.toml.*context/m);
    expect(r.stderr).toMatch(/^nosuch: start failed: guest 'nosuch' not found/m);
    expect(r.stdout).toMatch(/^2 of 4 guests started, 2 failed$/m);
    const stop = await t.cli(['stop', '--all', '--json']);
    const res = lines(stop.stdout);
    expect(res.find((x) => x.name === 'g04')).toMatchObject({ ok: true, state: 'stopped' });
    expect(res.find((x) => x.name === 'g01')).toMatchObject({ ok: true, note: 'was not running' });
    expect(res.find((x) => x.name === 'g05')).toMatchObject({ ok: false, error: { code: 'CONFIG_INVALID' } });
    expect(stop.code).toBe(10);
    writeFileSync(t.paths.guestConfig('g05'), `context = ${200 + 5}\n`);
  }, 300_000);

  it('starts all the others when one config among the 30 is broken, and names that one', async () => {
    const good = readFileSync(t.paths.guestConfig('g07'), 'utf8');
    writeFileSync(t.paths.guestConfig('g07'), 'context = [\n');
    try {
      const r = await t.cli(['start', '--all', '--json'], { timeoutMs: 300_000 });
      expect(r.code).toBe(10);
      const res = lines(r.stdout);
      expect(res.filter((x) => !x.ok).map((x) => [x.name, x.error?.code])).toEqual([['g07', 'CONFIG_INVALID']]);
      expect(res.filter((x) => x.ok && x.state === 'running').map((x) => x.name)).toEqual(names.filter((n) => n !== 'g07'));
      expect(res.find((x) => x.name === 'g07')!.error!.message).toMatch(/g07\.toml/);
    } finally {
      writeFileSync(t.paths.guestConfig('g07'), good);
    }
    expect(JSON.parse((await t.cli(['status', 'g07', '--json'])).stdout)).toMatchObject({ state: 'stopped' });
    expect((await t.cli(['stop', '--all', '--timeout', '0'])).code).toBe(0);
  }, 300_000);

  it('autostarts a mark in start_order groups and autostops it in reverse', async () => {
    const groups = [['g20', 'g21'], ['g01', 'g22'], ['g23']]; // g01 is bridged; each group in name order
    for (const [order, group] of groups.entries()) {
      for (const g of group) {
        await t.ok(['config', g, 'mark', 'boot']);
        await t.ok(['config', g, 'start_order', String((order + 1) * 10)]);
      }
    }
    await t.ok(['config', 'g24', 'mark', 'other']);
    const r = await t.cli(['autostart', '--mark', 'boot', '--json'], { timeoutMs: 120_000 });
    expect(r.code).toBe(0);
    expect(lines(r.stdout).map((x) => x.name)).toEqual(groups.flat());
    const status = async (g: string) => JSON.parse((await t.cli(['status', g, '--json'])).stdout) as { state: string; pid: number };
    const started = await Promise.all(groups.map((gr) => Promise.all(gr.map(async (g) => startTicks((await status(g)).pid)))));
    // each group's inits started no earlier than every init of the group before it
    for (let i = 1; i < groups.length; i++) expect(Math.min(...started[i]!)).toBeGreaterThanOrEqual(Math.max(...started[i - 1]!));
    expect((await status('g24')).state).toBe('stopped');

    // when each init goes, seen from outside: the last group first
    const pids = await Promise.all(groups.map((gr) => Promise.all(gr.map(async (g) => (await status(g)).pid))));
    const goneAt = new Map<number, number>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const p of pids.flat()) if (!goneAt.has(p) && dead(p)) goneAt.set(p, performance.now());
        await new Promise((res) => setTimeout(res, 5));
      }
    })();
    let stop: Line[];
    try {
      stop = lines(await t.ok(['autostop', '--mark', 'boot', '--json']));
    } finally {
      watching = false;
      await watcher;
    }
    // an init that went after the watcher's last look went before autostop returned
    for (const p of pids.flat()) if (!goneAt.has(p) && dead(p)) goneAt.set(p, performance.now());
    expect(stop.map((x) => x.name)).toEqual([...groups].reverse().flat());
    const gone = pids.map((gr) => gr.map((p) => goneAt.get(p)!));
    for (const gr of gone) for (const at of gr) expect(at).toBeDefined();
    for (let i = 0; i + 1 < groups.length; i++) expect(Math.max(...gone[i + 1]!)).toBeLessThanOrEqual(Math.min(...gone[i]!));
    for (const g of groups.flat()) expect((await status(g)).state).toBe('stopped');
  }, 300_000);

  it('gives bad input a clear error', async () => {
    const cases: [string[], number, RegExp][] = [
      [['autostart', '--mark', 'nosuch'], 4, /no guest has mark 'nosuch'.*\n.*marks in use: boot, other/],
      [['start', '--all', '--jobs', '0'], 2, /--jobs must be 1 or more, not 0/],
      [['start', 'g01', '--all'], 2, /name guests, or use --all or --mark, not both/],
      [['stop'], 2, /no guest named/],
      [['config', 'g01', 'start_order', 'first'], 10, /start_order/],
    ];
    for (const [args, code, msg] of cases) {
      const r = await t.cli(args);
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr).toMatch(msg);
    }
  });

  it('leaves nothing behind', async () => {
    await t.ok(['stop', '--all', '--timeout', '0']);
    expect(await host.links()).toEqual(['lo']);
    expect(await t.leaks()).toEqual([]);
  });
});
