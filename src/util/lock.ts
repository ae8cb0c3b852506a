// Per-guest locks that survive nothing: a lock whose holder died is taken over.
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as v from 'valibot';
import { VsError, errnoOf } from './errors.js';
import { checkJson } from './json.js';
import { sleep } from './proc.js';
import { processStartTime } from './procfs.js';

interface Holder {
  pid: number;
  start: string; // process start time from /proc, so that a reused pid is not taken for the holder
  what: string;
}

/**
 * A lock is a symlink whose target names the holder. A symlink is made whole by one call, and a
 * target of under 60 bytes lives in the inode, so that taking a lock needs no free block: the
 * administrator can still stop and delete guests on a full disk.
 */
const TARGET_MAX = 59;

function encode(h: Holder): string {
  return `${h.pid}:${h.start}:${h.what}`.slice(0, TARGET_MAX);
}

/** The lock's holder text, or null if there is no lock. A regular file is a lock of an older version. */
function readRaw(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return null;
    if (errnoOf(e) !== 'EINVAL') throw e;
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return null;
    throw e;
  }
}

/** The holder named by a lock; undefined if there is none or it is unreadable. */
function parseHolder(raw: string | null): Holder | undefined {
  if (raw === null) return undefined;
  const m = /^(\d+):(\d+):(.*)$/s.exec(raw);
  if (m) return { pid: Number(m[1]), start: m[2]!, what: m[3]! };
  const r = checkJson(HolderSchema, raw);
  return r.ok ? r.value : undefined;
}

/** A lock of an older version: a file holding the holder as JSON. */
const HolderSchema: v.GenericSchema<Holder> = v.object({ pid: v.number(), start: v.string(), what: v.string() });

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
 * Takes the lock at `path`, waiting up to timeoutMs. A lock left by a dead process is removed under
 * a short second lock so that two waiters never both take over.
 */
export async function acquireLock(path: string, what: string, timeoutMs = 60_000): Promise<Lock> {
  // the jobs of one process queue here: the lock passes between them at once, and only the first polls the file
  const deadline = Date.now() + timeoutMs;
  const before = queues.get(path) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((resolve) => {
    done = resolve;
  });
  const tail = before.then(() => mine);
  queues.set(path, tail);
  const leave = () => {
    done();
    if (queues.get(path) === tail) queues.delete(path);
  };
  try {
    if (!(await inTime(before, deadline))) throw busy(path);
    const file = await acquireFile(path, what, deadline);
    return {
      release: () => {
        try {
          file.release();
        } finally {
          leave();
        }
      },
    };
  } catch (e) {
    leave();
    throw e;
  }
}

/** Each lock path's queue of this process's waiters: the promise that settles when the last of them is done. */
const queues = new Map<string, Promise<void>>();

/** Whether p settled before the deadline. */
async function inTime(p: Promise<void>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([p.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

function busy(path: string): VsError {
  const holder = readHolder(path);
  return new VsError(
    'BUSY',
    `${describe(path)} is busy: pid ${holder?.pid} is running '${holder?.what}'`,
    'wait for that command to finish, or stop it, then try again',
  );
}

/** The lock file itself, against other processes. */
async function acquireFile(path: string, what: string, deadline: number): Promise<Lock> {
  mkdirSync(dirname(path), { recursive: true });
  const me: Holder = { pid: process.pid, start: processStartTime(process.pid) ?? '0', what };
  const target = encode(me);
  let delay = 5;
  for (;;) {
    if (trySymlink(target, path)) return { release: () => releaseIfMine(path, me) };
    const raw = readRaw(path);
    if (raw === null) continue; // released just now: try again at once
    const holder = parseHolder(raw);
    if (!holderAlive(holder)) {
      takeOverDead(path, target, raw);
      continue;
    }
    if (Date.now() >= deadline) throw busy(path);
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
}

function trySymlink(target: string, path: string): boolean {
  try {
    symlinkSync(target, path);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'EEXIST') return false;
    throw e;
  }
}

/**
 * Removes a lock whose holder is dead, if it is still the very lock that was seen. The guard
 * makes this check-then-unlink exclusive; a guard is held for microseconds, and one left by a
 * process that died inside it is cleared.
 */
function takeOverDead(path: string, target: string, seen: string): boolean {
  const guard = `${path}.takeover`;
  if (!trySymlink(target, guard)) {
    const g = readRaw(guard);
    if (g !== null && !holderAlive(parseHolder(g)) && readRaw(guard) === g) safeUnlink(guard);
    return false;
  }
  try {
    if (readRaw(path) !== seen) return false;
    safeUnlink(path);
    return true;
  } finally {
    safeUnlink(guard);
  }
}

function releaseIfMine(path: string, me: Holder): void {
  const h = readHolder(path);
  if (h && h.pid === me.pid && h.start === me.start) safeUnlink(path);
}

/** Removes p if it is there; true, so that it can end a condition. */
function safeUnlink(p: string): true {
  try {
    unlinkSync(p);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
  return true;
}

/**
 * Removes the locks in dir whose holders are dead (and the temp files that older versions, killed
 * while taking a lock, left); returns their names. Safe while others take and release locks.
 */
export function sweepDeadLocks(dir: string): string[] {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
  const me = encode({ pid: process.pid, start: processStartTime(process.pid) ?? '0', what: 'vserver gc' });
  const removed: string[] = [];
  for (const f of entries) {
    const path = join(dir, f);
    const temp = /\.(\d+)-[0-9a-z]+$/.exec(f);
    if (temp) {
      if (!existsSync(`/proc/${temp[1]}`)) {
        safeUnlink(path);
        removed.push(f);
      }
      continue;
    }
    const raw = readRaw(path);
    if (raw === null || holderAlive(parseHolder(raw))) continue;
    const gone = f.endsWith('.takeover') ? readRaw(path) === raw && safeUnlink(path) : takeOverDead(path, me, raw);
    if (gone) removed.push(f);
  }
  return removed;
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
