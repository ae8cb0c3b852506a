// vserverd's spawn slots (dist/spawn-slot, built by npm run build): a program started from a slot
// behaves as a forked one (output, input, exit code, signals, fds, a missing program's error), and
// really comes from a slot forked before it was asked for.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SpawnSlots, slotModes, slotRequest } from '../../src/daemon/spawn-slots.js';
import { helperPath } from '../../src/util/helpers.js';
import { launch, launcherInUse, sleep, useLauncher, type StartOptions } from '../../src/util/proc.js';

const PIPES: StartOptions = { stdio: ['pipe', 'pipe', 'pipe'] };

let slots: SpawnSlots | undefined;
let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  slots?.close();
  restore = slots = undefined;
});

/** Slots ready, with their pids: a program that gets one of these pids was started from a slot. */
function ready(size = 2): Set<number> {
  slots = new SpawnSlots(helperPath('spawn-slot'), launcherInUse(), size);
  slots.fill();
  restore = useLauncher(slots.launcher);
  const pids = new Set<number>();
  // the slots are the launcher's own children, forked now, before any program is asked for
  for (const s of (slots as unknown as { idle: { child: { pid: number } }[] }).idle) pids.add(s.child.pid);
  expect(pids.size).toBe(size);
  return pids;
}

describe('spawn slots', () => {
  it('asks a slot only for what it can give', () => {
    expect(slotModes(PIPES)).toEqual({ modes: 'ppp-' });
    expect(slotModes({ stdio: ['ignore', 'pipe', 'pipe'] })).toEqual({ modes: 'npp-' });
    expect(slotModes({ stdio: ['pipe', 'pipe', 'pipe', 'pipe'] })).toEqual({ modes: 'pppk' });
    expect(slotModes({ stdio: ['pipe', 'pipe', 'pipe', 7] })).toEqual({ modes: 'pppf', fd3: `/proc/${process.pid}/fd/7` });
    expect(slotModes({ stdio: 'inherit' })).toBeUndefined();
    expect(slotModes({ stdio: ['inherit', 'pipe', 'pipe'] })).toBeUndefined();
    expect(slotModes({ ...PIPES, cwd: '/' })).toBeUndefined();
    expect(slotModes({ ...PIPES, detached: true })).toBeUndefined();
    expect(slotModes({ ...PIPES, env: { PATH: '/bin' } })).toBeUndefined();
    expect(slotModes({ ...PIPES, env: process.env })).toEqual({ modes: 'ppp-' });
    const req = slotRequest({ modes: 'ppp-' }, 'sh', ['-c', '']);
    expect(req.readUInt32LE(0)).toBe(req.length - 4);
    expect(req.subarray(4).toString()).toBe('ppp-\0sh\0sh\0-c\0\0');
    expect(slotRequest({ modes: 'pppf', fd3: '/proc/1/fd/7' }, 'cat', []).subarray(4).toString()).toBe('pppf\0/proc/1/fd/7\0cat\0cat\0');
  });

  it('forks the slots taken again once the programs from slots have ended, not while one runs', async () => {
    ready(1);
    const idle = () => (slots as unknown as { idle: unknown[] }).idle.length;
    const a = launch('sleep', ['0.4'], PIPES);
    expect(idle()).toBe(0);
    await sleep(200);
    expect(idle()).toBe(0); // a fork now would take the CPU the program's start-up needs
    await a.exit;
    await sleep(50);
    expect(slots!.ready).toBe(1);
    // a program that runs on (a long shell) lets the slots be forked again after a second at the latest
    const b = launch('sleep', ['3'], PIPES);
    await sleep(1300);
    expect(slots!.ready).toBe(1);
    b.child.kill();
    await b.exit;
  });

  it('runs a program from a slot with its output, exit code and input', async () => {
    const pids = ready();
    const a = launch('sh', ['-c', 'echo out; echo err >&2; exit 3'], { ...PIPES, captureStdout: true });
    expect(pids.has(a.child.pid!)).toBe(true);
    expect(await a.exit).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    const b = launch('cat', [], { ...PIPES, captureStdout: true });
    expect(pids.has(b.child.pid!)).toBe(true);
    b.child.stdin!.end('through stdin');
    expect(await b.exit).toMatchObject({ code: 0, stdout: 'through stdin' });
    // both slots are used: the next program is forked while new slots are made
    const c = launch('true', [], PIPES);
    expect(pids.has(c.child.pid!)).toBe(false);
    expect((await c.exit).code).toBe(0);
  });

  it('gives an ignored stdin as /dev/null, and fd 3 only when it is asked for', async () => {
    const pids = ready(3);
    const a = launch('sh', ['-c', 'cat; test -e /proc/self/fd/3 && echo has3 || echo no3'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      captureStdout: true,
    });
    expect(a.child.stdin).toBeNull();
    expect(a.child.stdio.length).toBe(3);
    expect(await a.exit).toMatchObject({ code: 0, stdout: 'no3\n' });
    const b = launch('sh', ['-c', 'read l <&3; echo "got $l"'], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], captureStdout: true });
    (b.child.stdio[3] as NodeJS.WritableStream).write('hello\n');
    expect(await b.exit).toMatchObject({ code: 0, stdout: 'got hello\n' });
    // a file of ours as fd 3 (how runc gets the exec shim): the slot opens it through /proc
    const dir = mkdtempSync(join(tmpdir(), 'vst-slot-'));
    try {
      writeFileSync(join(dir, 'f'), 'from our fd\n');
      const fd = openSync(join(dir, 'f'), 'r');
      try {
        const c = launch('sh', ['-c', 'cat <&3'], { stdio: ['pipe', 'pipe', 'pipe', fd], captureStdout: true });
        expect(pids.has(c.child.pid!)).toBe(true);
        expect(await c.exit).toMatchObject({ code: 0, stdout: 'from our fd\n' });
      } finally {
        closeSync(fd);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes signals to the program and gives a missing one the error a fork gives', async () => {
    const pids = ready();
    const a = launch('sleep', ['30'], PIPES);
    expect(pids.has(a.child.pid!)).toBe(true);
    await sleep(50);
    a.child.kill('SIGTERM');
    expect(await a.exit).toMatchObject({ signal: 'SIGTERM', code: 143 });
    const b = launch('/nonexistent/program', [], PIPES);
    expect(pids.has(b.child.pid!)).toBe(true);
    await expect(b.exit).rejects.toMatchObject({ code: 'DEPENDENCY_MISSING', message: "cannot run '/nonexistent/program': not found" });
  });

  it('forks instead when the daemon environment changed since the slots were made', async () => {
    const pids = ready();
    process.env.VSERVER_SLOT_TEST = '1';
    try {
      const a = launch('sh', ['-c', 'echo "$VSERVER_SLOT_TEST"'], { ...PIPES, captureStdout: true });
      expect(pids.has(a.child.pid!)).toBe(false);
      expect((await a.exit).stdout).toBe('1\n');
    } finally {
      delete process.env.VSERVER_SLOT_TEST;
    }
  });

  it('ends its slots when closed: each exits once its fd 3 closes', async () => {
    const pids = ready();
    slots!.close();
    const running = () => [...pids].filter((p) => !/^[ZX]/.test(procState(p)));
    const end = Date.now() + 5000;
    while (running().length > 0 && Date.now() < end) await sleep(20);
    expect(running()).toEqual([]);
    // and programs are then forked
    const a = launch('true', [], PIPES);
    expect(pids.has(a.child.pid!)).toBe(false);
    expect((await a.exit).code).toBe(0);
  });
});

/** The state letter of a process (Z: exited, not yet reaped), X when it is gone. */
function procState(pid: number): string {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2);
  } catch {
    return 'X';
  }
}
