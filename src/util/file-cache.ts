// Parsed files kept while they are unchanged on disk, so that a bulk run of many guests parses every
// guest's file once instead of once per guest. Only for callers that do not change what they get.
// With a file of its own, what was derived is also kept between processes: a single start then
// stats the other guests' files instead of parsing every one of them again.
import { readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';
import { readIfExists } from './fs.js';

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

export class FileCache<T> {
  private entries = new Map<string, Entry<T>>();
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
    const key = st && `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    const settled = st !== undefined && this.now() - st.ctimeMs > SETTLE_MS;
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

  /** Forgets the files not named (guests gone), so that the cache's file does not keep them. */
  retain(files: ReadonlySet<string>): void {
    this.load();
    for (const file of this.entries.keys()) {
      if (!files.has(file)) {
        this.entries.delete(file);
        this.changed = true;
      }
    }
  }

  /** Writes the entries to the cache's file, if any changed since it was read. */
  save(): void {
    if (!this.kept || !this.changed) return;
    const files: Record<string, { key: string; value: T }> = {};
    for (const [file, e] of this.entries) files[file] = e;
    writeFileAtomic(this.kept.file, JSON.stringify({ version: VERSION, files }), 0o600, { durable: false });
    this.changed = false;
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
    const { version, files } = (typeof doc === 'object' && doc !== null ? doc : {}) as { version?: unknown; files?: unknown };
    if (version !== VERSION || typeof files !== 'object' || files === null) return;
    for (const [file, e] of Object.entries(files as Record<string, { key?: unknown; value?: unknown }>)) {
      if (typeof e?.key === 'string' && this.kept.valid(e.value) && !this.entries.has(file)) {
        this.entries.set(file, { key: e.key, value: e.value });
      }
    }
  }
}
