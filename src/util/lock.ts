// Per-guest locks that survive nothing: a lock whose holder died is taken over.
import { uniqueSuffix } from './unique.js';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { VsError, errnoOf } from './errors.js';
import { sleep } from './proc.js';
import { processStartTime } from './procfs.js';

interface Holder {
  pid: number;
  start: string; // process start time from /proc, so that a reused pid is not taken for the holder
  what: string;
}

function readHolder(path: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
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
  const tmp = `${path}.${uniqueSuffix()}`;
  writeFileSync(tmp, JSON.stringify(me));
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  try {
    for (;;) {
      if (tryLink(tmp, path)) return { release: () => releaseIfMine(path, me) };
      const holder = readHolder(path);
      if (!holderAlive(holder)) {
        takeOverDead(path, tmp, holder);
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

function tryLink(tmp: string, path: string): boolean {
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'EEXIST') return false;
    throw e;
  }
}

function takeOverDead(path: string, tmp: string, seen: Holder | undefined): void {
  const guard = `${path}.takeover`;
  if (!tryLink(tmp, guard)) {
    // Someone else is taking over; if that someone died mid-way, clear its guard.
    if (!holderAlive(readHolder(guard))) safeUnlink(guard);
    return;
  }
  try {
    const now = readHolder(path);
    if (JSON.stringify(now) === JSON.stringify(seen) && !holderAlive(now)) safeUnlink(path);
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
  return m ? `guest '${m[1]}'` : path;
}

export async function withLock<T>(path: string, what: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
  const lock = await acquireLock(path, what, timeoutMs);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
