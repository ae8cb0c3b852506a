// The guest-watch helper (dist/guest-watch, built by npm run build): init exits through pidfds, and
// OOM kills from a cgroup v2 memory.events file (a fixture here; inotify works on any file).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GuestWatch, parseReport, type WatchReport } from '../../src/daemon/guest-watch.js';
import { helperPath } from '../../src/util/helpers.js';
import { sleep } from '../../src/util/proc.js';

const EVENTS = (oomKill: number) => `low 0\nhigh 0\nmax 12\noom ${oomKill}\noom_kill ${oomKill}\noom_group_kill 0\n`;

let dir: string | undefined;
let watch: GuestWatch | undefined;
afterEach(() => {
  watch?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function reports(w: GuestWatch): WatchReport[] {
  const got: WatchReport[] = [];
  w.on('report', (r: WatchReport) => got.push(r));
  return got;
}

async function until(fn: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('guest-watch', () => {
  it('parses its report lines and nothing else', () => {
    expect(parseReport('exit web1 4242')).toEqual({ kind: 'exit', name: 'web1', pid: 4242 });
    expect(parseReport('oom web1 3')).toEqual({ kind: 'oom', name: 'web1', count: 3 });
    expect(parseReport('gone web1')).toEqual({ kind: 'gone', name: 'web1' });
    expect(parseReport('error web1 pidfd_open 1: No such process')).toEqual({
      kind: 'error',
      name: 'web1',
      text: 'pidfd_open 1: No such process',
    });
    for (const bad of ['exit web1', 'exit web1 x', 'oom web1 -1', 'hello', '']) expect(parseReport(bad)).toBeUndefined();
  });

  it('tells when a watched process exits, at once and only that one', async () => {
    watch = new GuestWatch(helperPath('guest-watch'));
    const got = reports(watch);
    const a = spawn('sleep', ['30'], { stdio: 'ignore' });
    const b = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      watch.watchPid('a', a.pid!);
      watch.watchPid('b', b.pid!);
      await sleep(100);
      const t0 = Date.now();
      a.kill('SIGKILL');
      await until(() => got.length === 1, 'the exit report');
      expect(Date.now() - t0).toBeLessThan(1000);
      await sleep(100);
      expect(got).toEqual([{ kind: 'exit', name: 'a', pid: a.pid }]);
      // a pid that is already gone is reported at once
      watch.watchPid('c', a.pid!);
      await until(() => got.length === 2, 'the report of a gone pid');
      expect(got[1]).toEqual({ kind: 'exit', name: 'c', pid: a.pid });
    } finally {
      a.kill('SIGKILL');
      b.kill('SIGKILL');
    }
  });

  it('reports OOM kills from a cgroup v2 memory.events file when its oom_kill count rises', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-'));
    const file = join(dir, 'memory.events');
    writeFileSync(file, EVENTS(1));
    watch = new GuestWatch(helperPath('guest-watch'));
    const got = reports(watch);
    watch.watchOom('web1', file);
    await sleep(100);
    writeFileSync(file, EVENTS(1)); // a change of another line (max) is no OOM kill
    await sleep(100);
    expect(got).toEqual([]);
    writeFileSync(file, EVENTS(3));
    await until(() => got.length === 1, 'the oom report');
    expect(got).toEqual([{ kind: 'oom', name: 'web1', count: 3 }]);
    watch.forget('web1');
    await sleep(50);
    writeFileSync(file, EVENTS(4));
    await sleep(150);
    expect(got).toHaveLength(1);
  });
});
