// Per-guest locks that survive nothing: a lock whose holder died is taken over.
import { uniqueSuffix } from './unique.js';
import { existsSync, linkSync, mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { VsError, errnoOf } from './errors.js';
import { readIfExists } from './fs.js';
import { sleep } from './proc.js';
import { processStartTime } from './procfs.js';

interface Holder {
  pid: number;
  start: string; // process start time from /proc, so that a reused pid is not taken for the holder
  what: string;
}

/** The lock file's text, or null if there is no lock file. */
function readRaw(path: string): string | null {
  return readIfExists(path) ?? null;
}

/** The holder named in a lock file; undefined if there is none or the file is unreadable. */
function parseHolder(raw: string | null): Holder | undefined {
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw) as Holder;
  } catch {
    return undefined;
  }
}

function readHolder(path: string): Holder | undefined {
  return parseHolder(readRaw(path));
}

function holderAlive(h: Holder | undefined): boolean {
  return h !== undefined && processStartTime(h.pid) === h.start;
}

/** True if a living process holds the lock at path. */
export function lockHeld(path: string): boolean {
  return holderAlive(readHolder(path));
}

export interface Lock {
  release(): void;
}

/**
 * Takes the lock at `path`, waiting up to timeoutMs. The lock is a file created with link(2),
 * which is atomic; a file left by a dead process is removed under a short second lock so that
 * two waiters never both take over.
 */
export async function acquireLock(path: string, what: string, timeoutMs = 60_000): Promise<Lock> {
  mkdirSync(dirname(path), { recursive: true });
  const me: Holder = { pid: process.pid, start: processStartTime(process.pid) ?? '0', what };
  const tmp = `${path}.${process.pid}-${uniqueSuffix()}`;
  writeFileSync(tmp, JSON.stringify(me));
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  try {
    for (;;) {
      if (tryLink(tmp, path)) {
        sweepDeadTemps(path);
        return { release: () => releaseIfMine(path, me) };
      }
      const raw = readRaw(path);
      if (raw === null) continue; // released just now: try again at once
      const holder = parseHolder(raw);
      if (!holderAlive(holder)) {
        takeOverDead(path, tmp, raw);
        continue;
      }
      if (Date.now() >= deadline) {
        throw new VsError('BUSY', `${describe(path)} is busy: pid ${holder?.pid} is running '${holder?.what}'`,
          'wait for that command to finish, or stop it, then try again');
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 100);
    }
  } finally {
    safeUnlink(tmp);
  }
}

/** Removes the temp files that processes killed while taking this lock left behind. */
function sweepDeadTemps(path: string): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  for (const f of readdirSync(dir)) {
    const m = f.startsWith(prefix) ? /^(\d+)-/.exec(f.slice(prefix.length)) : null;
    if (m && Number(m[1]) !== process.pid && !existsSync(`/proc/${m[1]}`)) safeUnlink(join(dir, f));
  }
}

function tryLink(tmp: string, path: string): boolean {
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'EEXIST') return false;
    throw e;
  }
}

/**
 * Removes a lock file whose holder is dead, if it is still the very file that was seen. The guard
 * makes this check-then-unlink exclusive; a guard is held for microseconds, and one left by a
 * process that died inside it is cleared.
 */
function takeOverDead(path: string, tmp: string, seen: string): void {
  const guard = `${path}.takeover`;
  if (!tryLink(tmp, guard)) {
    const g = readRaw(guard);
    if (g !== null && !holderAlive(parseHolder(g)) && readRaw(guard) === g) safeUnlink(guard);
    return;
  }
  try {
    if (readRaw(path) === seen) safeUnlink(path);
  } finally {
    safeUnlink(guard);
  }
}

function releaseIfMine(path: string, me: Holder): void {
  const h = readHolder(path);
  if (h && h.pid === me.pid && h.start === me.start) safeUnlink(path);
}

function safeUnlink(p: string): void {
  try {
    unlinkSync(p);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
}

function describe(path: string): string {
  const m = /([^/]+)\.lock$/.exec(path);
  if (!m) return path;
  return m[1]!.startsWith('@template-') ? `template '${m[1]!.slice(10)}'` : `guest '${m[1]}'`;
}

export async function withLock<T>(path: string, what: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
  const lock = await acquireLock(path, what, timeoutMs);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
