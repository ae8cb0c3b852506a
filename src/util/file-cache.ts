// Parsed files kept while they are unchanged on disk, so that a bulk run of many guests parses every
// guest's file once instead of once per guest. Only for callers that do not change what they get.
// With a file of its own, what was derived is also kept between processes: a single start then
// stats the other guests' files instead of parsing every one of them again.
import { readFileSync, statSync, type Stats } from 'node:fs';
import { writeFileAtomic } from './atomic.js';
import { orIoError, readdirIfExists, readIfExists } from './fs.js';

/**
 * A file changed this recently may change again within the same tick of the kernel's clock without
 * its times moving: its entry is not trusted, and read again until it has settled.
 */
const SETTLE_MS = 1000;

interface Entry<T> {
  key: string;
  value: T;
}

/** Where a cache is kept between processes, and the check of what is read back from there. */
export interface KeptIn<T> {
  file: string;
  valid: (value: unknown) => value is T;
}

const VERSION = 1;

/**
 * What tells one version of a file from another without reading it. The times in milliseconds keep
 * a fraction finer than the kernel's timestamp tick, and cost no BigInt per field as nanoseconds do.
 */
export function statKey(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/** The key of a file, or undefined when there is no such file. */
export function fileKey(file: string): string | undefined {
  const st = statSync(file, { throwIfNoEntry: false });
  return st && statKey(st);
}

const identity = statKey;

export class FileCache<T> {
  private entries = new Map<string, Entry<T>>();
  /** Directories scanned whole, with their identity then: see scan(). */
  private dirs = new Map<string, string>();
  private loaded = false;
  private changed = false;

  /** `now` is the clock files are compared with (the time of day, in ms). */
  constructor(
    private readonly kept?: KeptIn<T>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The parsed file, or undefined when it does not exist. */
  get(file: string, parse: (text: string) => T): T | undefined {
    this.load();
    // stat before reading: a change during the read gives another key at the next call; the times
    // in ms as doubles keep well under a microsecond, finer than the kernel's clock ticks
    const st = statSync(file, { throwIfNoEntry: false });
    const key = st && identity(st);
    const settled = st !== undefined && this.settled(st);
    const hit = this.entries.get(file);
    if (hit && hit.key === key && settled) return hit.value;
    const text = st && readIfExists(file);
    if (key === undefined || text === undefined) {
      if (this.entries.delete(file)) this.changed = true;
      return undefined;
    }
    const value = parse(text);
    if (settled) {
      this.entries.set(file, { key, value });
      this.changed = true;
    } else if (this.entries.delete(file)) this.changed = true;
    return value;
  }

  /**
   * The files of `dir` that `pick` names, parsed, by path. Only for a directory whose files are
   * replaced whole (by rename) or removed, never written in place: each such change moves the
   * directory's own times, so an unchanged directory that has settled vouches for every file in it,
   * and not one of them is looked at.
   */
  scan(dir: string, pick: (entry: string) => boolean, parse: (file: string, text: string) => T): Map<string, T> {
    this.load();
    const st = statSync(dir, { throwIfNoEntry: false });
    const key = st && identity(st);
    const inside = `${dir}/`;
    const out = new Map<string, T>();
    if (st && this.settled(st) && this.dirs.get(dir) === key) {
      for (const [file, e] of this.entries) if (file.startsWith(inside)) out.set(file, e.value);
      return out;
    }
    for (const entry of readdirIfExists(dir)) {
      if (!pick(entry)) continue;
      const file = inside + entry;
      const value = this.get(file, (text) => parse(file, text));
      // gone since the directory was listed
      if (value !== undefined) out.set(file, value);
    }
    for (const file of this.entries.keys()) {
      if (file.startsWith(inside) && !out.has(file) && this.entries.delete(file)) this.changed = true;
    }
    // vouches only once settled, and only if no file was too fresh to keep (a file renamed in moves the directory too)
    const vouched = key !== undefined && this.settled(st!) && [...out.keys()].every((f) => this.entries.has(f));
    // the cache's file is written again only for a real change: a listing with nothing new writes nothing
    if (vouched ? this.dirs.get(dir) !== key : this.dirs.has(dir)) this.changed = true;
    if (vouched) this.dirs.set(dir, key);
    else this.dirs.delete(dir);
    return out;
  }

  private settled(st: Stats): boolean {
    return this.now() - st.ctimeMs > SETTLE_MS;
  }

  /**
   * Writes the entries to the cache's file, if any changed since it was read. A file system that
   * refuses (full, read-only) only loses the cache: the command that read through it goes on.
   */
  save(): void {
    if (!this.kept || !this.changed) return;
    const files: Record<string, { key: string; value: T }> = {};
    for (const [file, e] of this.entries) files[file] = e;
    const dirs = Object.fromEntries(this.dirs);
    const file = this.kept.file;
    const written = orIoError(() => {
      writeFileAtomic(file, JSON.stringify({ version: VERSION, files, dirs }), 0o600, { durable: false });
      return true;
    });
    if (written) this.changed = false;
  }

  /** What an earlier process kept; an unreadable or damaged file is only a cache lost, read anew. */
  private load(): void {
    if (this.loaded || !this.kept) return;
    this.loaded = true;
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(this.kept.file, 'utf8'));
    } catch {
      return;
    }
    const { version, files, dirs } = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
    if (version !== VERSION || typeof files !== 'object' || files === null) return;
    let whole = true;
    for (const [file, e] of Object.entries(files as Record<string, { key?: unknown; value?: unknown }>)) {
      if (typeof e?.key === 'string' && this.kept.valid(e.value)) this.entries.set(file, { key: e.key, value: e.value });
      else whole = false;
    }
    // a directory vouches only for entries that all came back
    if (whole && typeof dirs === 'object' && dirs !== null) {
      for (const [dir, key] of Object.entries(dirs)) if (typeof key === 'string') this.dirs.set(dir, key);
    }
  }
}

/** One cache per cache file, for the life of the process (a bulk run or the daemon asks again and again). */
const kept = new Map<string, FileCache<unknown>>();
export function keptCache<T>(file: string, valid: (v: unknown) => v is T): FileCache<T> {
  let c = kept.get(file);
  if (!c) kept.set(file, (c = new FileCache<T>({ file, valid }) as FileCache<unknown>));
  return c as FileCache<T>;
}
