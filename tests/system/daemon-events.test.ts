// vserverd's events and exec socket on real guests, through its Unix socket: an event for each
// lifecycle step whoever made it (the API or the CLI), died and oom from the kernel, commands with
// stdin and exit codes, a terminal with a resize, and reattaching to it.
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import type WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '../../src/engine/events.js';
import { sleep } from '../../src/util/proc.js';
import { api, execSocket, openSocket, socketOf, startDaemon, stdin, type ExecRun } from '../helpers/daemon.js';
import { until } from '../helpers/guests.js';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

describe.skipIf(!IS_ROOT)('vserverd events and exec', () => {
  const t = new TestRoot('vsev');
  let daemon: ChildProcess | undefined;
  let events: WebSocket | undefined;
  const got: (LifecycleEvent & { at: number })[] = [];

  const listen = async () => {
    events = await openSocket(t, '/1.0/events');
    events.on('message', (d: Buffer) => got.push({ ...(JSON.parse(d.toString()) as LifecycleEvent), at: Date.now() }));
  };
  const of = (guest: string) => got.filter((e) => e.guest === guest).map((e) => e.type);
  const waitFor = (guest: string, types: string[], ms = 15_000) =>
    until(async () => of(guest).length >= types.length, `events ${types.join(', ')} of ${guest} (got ${of(guest).join(', ')})`, ms).then(
      () => expect(of(guest)).toEqual(types),
    );

  /** Runs a command over the exec socket. */
  const exec = async (guest: string, body: Record<string, unknown>, input?: string) => {
    const r = await api(t, 'POST', `/1.0/guests/${guest}/exec`, body);
    expect(r.status).toBe(201);
    const ws = await openSocket(t, r.json.socket);
    const done = execSocket(ws);
    if (input !== undefined) ws.send(stdin(input));
    ws.send(JSON.stringify({ type: 'eof' }));
    return done;
  };

  beforeAll(async () => {
    await t.ok(['build', 'g1']);
    daemon = await startDaemon(t);
    await listen();
  }, 120_000);
  afterAll(async () => {
    events?.terminate();
    daemon?.kill('SIGKILL');
    await t.cleanup();
  });

  it('reports each lifecycle step, made through the API or by the CLI in another process', async () => {
    await t.ok(['build', 'g2']);
    await waitFor('g2', ['built']);
    expect((await api(t, 'PUT', '/1.0/guests/g2/state', { action: 'start' })).status).toBe(200);
    await t.ok(['limit', 'g2', 'pids.max', '200']);
    await t.ok(['config', 'g2', 'hostname', 'two']);
    expect((await api(t, 'PUT', '/1.0/guests/g2/state', { action: 'stop', timeout: 1 })).status).toBe(200);
    await t.ok(['start', 'g2']);
    await t.ok(['stop', 'g2', '--timeout', '1']);
    await t.ok(['delete', 'g2']);
    await waitFor('g2', ['built', 'started', 'limit-changed', 'config-changed', 'stopped', 'started', 'stopped', 'deleted']);
    await sleep(300);
    expect(of('g2')).toHaveLength(8); // a stop by the CLI is no death, and nothing comes twice
    for (const e of got) expect(Date.parse(e.time)).toBeGreaterThan(0);
  }, 120_000);

  it('reports died within a second when init is killed from the host', async () => {
    const st = await api(t, 'PUT', '/1.0/guests/g1/state', { action: 'start' });
    const pid = st.json.pid as number;
    await waitFor('g1', ['started']);
    const killed = Date.now();
    process.kill(pid, 'SIGKILL');
    await waitFor('g1', ['started', 'died'], 5000);
    const died = got.find((e) => e.guest === 'g1' && e.type === 'died')!;
    expect(died.at - killed).toBeLessThan(1000);
    expect(died.detail).toEqual({ pid });
    expect((await api(t, 'GET', '/1.0/guests/g1')).json.state).not.toBe('running');
  }, 60_000);

  it("reports an OOM kill when a command exceeds the guest's memory limit", async () => {
    await t.ok(['start', 'g1']);
    await t.ok(['limit', 'g1', 'memory.max', '16M']);
    await waitFor('g1', ['started', 'died', 'started', 'limit-changed']);
    const r = await exec('g1', { command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'] });
    expect(r.exit).toEqual({ type: 'exit', code: 137 });
    await waitFor('g1', ['started', 'died', 'started', 'limit-changed', 'oom'], 5000);
    expect(got.find((e) => e.type === 'oom')!.detail).toEqual({ oomKills: expect.any(Number) });
    await t.ok(['limit', 'g1', 'memory.max', 'max']);
  }, 60_000);

  it('runs a command with stdin, stdout, stderr and its exit code', async () => {
    const r = await exec('g1', { command: ['sh', '-c', 'cat; echo "to stderr $A" >&2; exit 3'], env: { A: 'x y' } }, 'hello\n');
    expect(r).toEqual({ out: { 1: 'hello\n', 2: 'to stderr x y\n' }, exit: { type: 'exit', code: 3 }, close: 1000 });
    const pwd = await exec('g1', { command: ['sh', '-c', 'pwd; id -u'], cwd: '/tmp', user: '1000:1000' });
    expect(pwd.out[1]).toBe('/tmp\n1000\n');
  }, 60_000);

  it('runs a command to its end within the request with wait: its exit code and output are the answer', async () => {
    const r = await api(t, 'POST', '/1.0/guests/g1/exec', {
      command: ['sh', '-c', 'echo "out $A"; echo err >&2; exit 4'],
      env: { A: 'x y' },
      wait: true,
    });
    expect(r).toEqual({ status: 200, json: { code: 4, stdout: 'out x y\n', stderr: 'err\n' } });
    // past 1 MiB a stream is cut, said in the answer, and the command still runs to its end
    const big = await api(t, 'POST', '/1.0/guests/g1/exec', {
      command: ['sh', '-c', 'head -c 1572864 /dev/zero | tr "\\0" a; echo done >&2'],
      wait: true,
    });
    expect(big.status).toBe(200);
    expect(big.json.stdout).toBe('a'.repeat(1 << 20));
    expect(big.json).toMatchObject({ code: 0, stderr: 'done\n', truncated: ['stdout'] });
    const tty = await api(t, 'POST', '/1.0/guests/g1/exec', { command: ['sh'], interactive: true, wait: true });
    expect(tty.status).toBe(400);
    expect(tty.json.error).toMatch(/interactive exec runs on a terminal through its WebSocket/);
  }, 60_000);

  it('hangs up a waited command whose client went away, and lets it run while the client stays', async () => {
    // the command writes a file when it gets SIGHUP; the control keeps its client and gets none. Its
    // sleep goes with it either way, so that no process of this test is left for the next one to count
    const command = (tag: string) => [
      'sh',
      '-c',
      `sleep 6 & s=$!; trap "echo $0 > /tmp/${tag}; kill $s; exit 1" HUP; wait; echo ran > /tmp/${tag}`,
      'hup',
    ];
    const post = (tag: string) =>
      request({
        socketPath: socketOf(t),
        method: 'POST',
        path: '/1.0/guests/g1/exec',
        headers: { 'content-type': 'application/json' },
      }).end(JSON.stringify({ command: command(tag), wait: true }));
    const gone = post('gone').on('error', () => undefined);
    const stays = api(t, 'POST', '/1.0/guests/g1/exec', { command: command('stays'), wait: true });
    await sleep(1500);
    gone.destroy();
    const read = async (tag: string) => (await t.cli(['exec', 'g1', '--', 'cat', `/tmp/${tag}`])).stdout;
    await until(async () => (await read('gone')) === 'hup\n', 'the command of the client that went away got SIGHUP', 5000);
    expect(await stays).toEqual({ status: 200, json: { code: 0, stdout: '', stderr: '' } });
    expect(await read('stays')).toBe('ran\n');
  }, 60_000);

  it('runs an interactive shell on a terminal that takes a resize and a signal', async () => {
    const r = await api(t, 'POST', '/1.0/guests/g1/exec', { command: ['/bin/sh'], interactive: true, cols: 50, rows: 20 });
    const ws = await openSocket(t, r.json.socket);
    const run: ExecRun = { out: {} };
    const done = execSocket(ws, run);
    const text = () => (run.out[1] ?? '').replace(/\r/g, '');
    const prompts = () => text().split('/ # ').length - 1;
    await until(async () => prompts() === 1, 'the prompt');
    ws.send(stdin('tty; stty size\n'));
    await until(async () => prompts() === 2, 'tty and stty');
    ws.send(JSON.stringify({ type: 'resize', cols: 100, rows: 40 }));
    ws.send(stdin('stty size; sleep 30\n'));
    await until(async () => /^40 100$/m.test(text()), 'the new size');
    // like ^C: to the terminal's foreground process, the sleep; the shell goes on
    ws.send(JSON.stringify({ type: 'signal', signal: 'SIGINT' }));
    await until(async () => prompts() === 3, 'the prompt after the interrupt', 5000);
    ws.send(stdin('exit 7\n'));
    await done;
    // busybox's prompt asks the terminal where the cursor is (ESC [6n)
    expect(text()).toMatch(/^\/ # (\x1b\[6n)?tty; stty size\n\/dev\/pts\/\d+\n20 50$/m);
    expect(text()).toMatch(/stty size; sleep 30\n40 100$/m);
    expect(run.out[2]).toBeUndefined();
    expect(run.exit).toEqual({ type: 'exit', code: 7 });
  }, 60_000);

  it('keeps an interactive session through a dropped socket, with its output meanwhile', async () => {
    const r = await api(t, 'POST', '/1.0/guests/g1/exec', { command: ['/bin/sh'], interactive: true });
    const first = await openSocket(t, r.json.socket);
    const seen: ExecRun = { out: {} };
    const before = execSocket(first, seen);
    await until(async () => (seen.out[1] ?? '').includes('/ # '), 'the prompt');
    // one client at a time
    await expect(openSocket(t, r.json.socket)).rejects.toThrow(/423/);
    first.send(stdin('sleep 1; echo "la""ter"\n'));
    await until(async () => (seen.out[1] ?? '').includes('echo "la""ter"\r\n'), 'the command on the terminal');
    first.terminate();
    await before;
    await sleep(2500);
    const again = await openSocket(t, r.json.socket);
    const run = execSocket(again);
    again.send(stdin('exit 4\n'));
    const res = await run;
    expect(seen.out[1]).not.toMatch(/later/);
    expect({ before: seen.out[1], after: res.out[1] }).toEqual({ before: expect.any(String), after: expect.stringMatching(/later/) });
    expect(res.exit).toEqual({ type: 'exit', code: 4 });
    // used up: the URL attaches nothing now
    expect((await api(t, 'GET', r.json.socket)).status).toBe(404);
  }, 60_000);

  it("follows the guest's log", async () => {
    let body = '';
    const req = request({ socketPath: socketOf(t), path: '/1.0/guests/g1/log?follow=1' }, (res) => {
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
    });
    req.end();
    const starts = () => body.split('vserver: starting guest g1').length - 1;
    try {
      await until(async () => starts() >= 2, 'the log so far');
      const before = starts();
      await t.ok(['restart', 'g1', '--timeout', '1']);
      await until(async () => starts() === before + 1, 'the restart in the log');
    } finally {
      req.destroy();
    }
    const text = body;
    expect(text).toMatch(/vserver: starting guest g1 \(context \d+\)/);
  }, 60_000);

  it('lists guests with their figures, and survives kill -9 while guests run', async () => {
    type Row = { name: string; state: string; figures?: { processes: number; memoryBytes: number } };
    // the restart before may still be forking its start-up: the two readings agree once it has settled
    let g1: Row | undefined;
    await until(
      async () => {
        g1 = ((await api(t, 'GET', '/1.0/guests?figures=1')).json as Row[]).find((g) => g.name === 'g1');
        return g1?.figures?.processes === (await api(t, 'GET', '/1.0/guests/g1')).json.processes;
      },
      "the list's process count of g1 to match its status",
      10_000,
    );
    expect(g1!.state).toBe('running');
    expect(g1!.figures!.memoryBytes).toBeGreaterThan(0);
    const pid = (await api(t, 'GET', '/1.0/guests/g1')).json.pid;
    daemon!.kill('SIGKILL');
    await new Promise((r) => daemon!.once('exit', r));
    expect((await t.cli(['running', 'g1'])).code).toBe(0);
    daemon = await startDaemon(t);
    got.length = 0;
    await listen();
    expect((await api(t, 'GET', '/1.0/guests')).json).toEqual([expect.objectContaining({ name: 'g1', state: 'running', pid })]);
    // no lock is left behind, and the new daemon watches the guest it found
    await t.ok(['stop', 'g1', '--timeout', '1']);
    await waitFor('g1', ['stopped']);
    events!.terminate();
    daemon!.kill('SIGTERM');
    await new Promise((r) => daemon!.once('exit', r));
    daemon = undefined;
    await t.ok(['delete', 'g1']);
    expect(await t.leaks()).toEqual([]);
  }, 120_000);
});
