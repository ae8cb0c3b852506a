// The guest-watch helper (guest-watch.c): one process for all guests, told which init pids and
// memory cgroups to watch, reporting init exits and OOM kills as the kernel signals them.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { CgroupReader } from '../resources/cgroup.js';
import { launch } from '../util/proc.js';

export type WatchReport =
  | { kind: 'exit'; name: string; pid: number }
  | { kind: 'oom'; name: string; count: number }
  | { kind: 'gone'; name: string }
  | { kind: 'error'; name: string; text: string };

/** One line of the helper's output; undefined for anything else. */
export function parseReport(line: string): WatchReport | undefined {
  const m = /^(exit|oom|gone|error) (\S+)(?: (.*))?$/.exec(line);
  if (!m) return undefined;
  const [, kind, name, rest] = m as unknown as [string, WatchReport['kind'], string, string | undefined];
  if (kind === 'exit' && rest !== undefined && /^\d+$/.test(rest)) return { kind, name, pid: Number(rest) };
  if (kind === 'oom' && rest !== undefined && /^\d+$/.test(rest)) return { kind, name, count: Number(rest) };
  if (kind === 'gone') return { kind, name };
  if (kind === 'error') return { kind, name, text: rest ?? '' };
  return undefined;
}

/** What the helper watches for OOM kills: v2 memory.events, or the v1 memory cgroup directory. */
export function oomWatchPath(cg: CgroupReader, cgName: string): string | undefined {
  for (const d of cg.dirs(cgName)) {
    if (existsSync(join(d, 'memory.events'))) return join(d, 'memory.events');
    if (existsSync(join(d, 'memory.oom_control'))) return d;
  }
  return undefined;
}

/** Emits 'report' with a WatchReport. */
export class GuestWatch extends EventEmitter {
  private readonly child: ChildProcess;
  private rest = '';
  private closing = false;

  constructor(helper: string) {
    super();
    this.child = launch(helper, [], { stdio: ['pipe', 'pipe', 'inherit'] }).child;
    this.child.on('error', (e) => process.stderr.write(`vserverd: guest-watch: ${e.message}\n`));
    this.child.on('exit', (code, signal) => {
      if (!this.closing)
        process.stderr.write(`vserverd: guest-watch ended (${signal ?? code}): no more died or oom events until vserverd restarts\n`);
    });
    this.child.stdin!.on('error', () => undefined);
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const lines = (this.rest + d).split('\n');
      this.rest = lines.pop() ?? '';
      for (const l of lines) {
        const r = parseReport(l);
        if (r) this.emit('report', r);
      }
    });
  }

  /** Names and paths come from the engine (checked guest names, cgroup paths); never a newline. */
  private send(line: string): void {
    if (!/[\n\r]/.test(line)) this.child.stdin!.write(`${line}\n`);
  }

  watchPid(name: string, pid: number): void {
    this.send(`pid ${name} ${pid}`);
  }
  watchOom(name: string, path: string): void {
    this.send(`oom ${name} ${path}`);
  }
  forget(name: string): void {
    this.send(`forget ${name}`);
  }

  close(): void {
    this.closing = true;
    this.child.stdin!.end();
    this.child.kill();
  }
}
