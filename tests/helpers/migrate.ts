// Shared by the migration tests: a guest that counts, what its counter must hold, a migrate that
// stops itself at a named point, and what the source and the target must show after a failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { sleep } from '../../src/util/proc.js';
import { until } from './guests.js';
import { CLI, type TestRoot } from './host.js';
import type { TwoHosts } from './two-hosts.js';

/** Appends the next number to /counter every 10 ms, going on from the last one written (also after a move). */
export const COUNTER = 'i=$(tail -n 1 /counter 2>/dev/null); i=${i:-0}; while :; do i=$((i+1)); echo $i >> /counter; sleep 0.01; done';

export async function info(t: TestRoot, name: string): Promise<{ state: string; context: number; idmap?: { base: number } }> {
  // status exits 3 for a stopped guest; the JSON is there either way
  const r = await t.cli(['status', name, '--json']);
  if (r.code !== 0 && r.code !== 3) throw new Error(`vserver status ${name} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { state: string; context: number; idmap?: { base: number } };
}

export async function guests(t: TestRoot): Promise<string[]> {
  return (JSON.parse(await t.ok(['list', '--json'])) as { name: string }[]).map((g) => g.name);
}

/** The numbers in a counter file: every one of 1..n in order, none twice, none missing. */
export function checkCounter(text: string): number {
  const values = text.trim().split('\n').map(Number);
  values.forEach((v, i) => {
    expect(v, `line ${i + 1} of the counter`).toBe(i + 1);
  });
  return values.length;
}

export async function lastCount(t: TestRoot, name: string): Promise<number> {
  const r = await t.cli(['exec', name, '--', 'tail', '-n', '1', '/counter']);
  return Number(r.stdout.trim());
}

/** A migrate run in the source namespace that stops itself (SIGSTOP) or dies (SIGKILL) at a named point. */
export const children: ChildProcess[] = [];

export function migrateUntil(h: TwoHosts, name: string, point: string, signal: 'SIGSTOP' | 'SIGKILL', args = h.migrateArgs(name)) {
  const child = spawn('nsenter', [`--net=${h.srcNs.path}`, '--', process.execPath, CLI, ...args], {
    env: h.source.env({ VSERVER_CRASH_AT: point, VSERVER_CRASH_SIGNAL: signal }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('exit', (code, sig) => r({ code, signal: sig })),
  );
  return {
    pid: child.pid!,
    exited,
    stderr: () => stderr,
    stopped: () => until(async () => / T /.test(readStat(child.pid!)), `migrate to stop itself at ${point}`, 120_000),
  };
}

function readStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, '');
  } catch {
    return '';
  }
}

/** No guest but the ones that were there, and once the receiver has ended (and gc ran), nothing staged. */
export async function targetHoldsNothing(h: TwoHosts, there = ['occupant']): Promise<void> {
  expect(await guests(h.target)).toEqual(there);
  await until(
    async () => !(await h.dstNs.exec('ip', ['netns', 'pids', h.dstNs.name])).stdout.split('\n').some((p) => /receive/.test(readCmdline(p))),
    'the receiver on the target to end',
    60_000,
  );
  await h.target.ok(['gc']);
  expect(h.targetStaging()).toEqual([]);
  expect(await guests(h.target)).toEqual(there);
}

export function readCmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** The counter stands still: the guest is frozen. */
export async function expectFrozen(h: TwoHosts): Promise<void> {
  const file = join(h.source.paths.rootfs('web'), 'counter');
  const a = readFileSync(file, 'utf8');
  await sleep(300);
  expect(readFileSync(file, 'utf8')).toBe(a);
}

/** The guest runs here and its counter goes on, with every value so far in place. */
export async function sourceRunsOn(h: TwoHosts, name = 'web'): Promise<void> {
  expect((await info(h.source, name)).state).toBe('running');
  const n = await lastCount(h.source, name);
  await until(async () => (await lastCount(h.source, name)) > n + 3, 'the counter to go on here');
  checkCounter(readFileSync(join(h.source.paths.rootfs(name), 'counter'), 'utf8'));
}
