// Parsed files kept while they are unchanged on disk, so that a bulk run of many guests parses every
// guest's file once instead of once per guest. Only for callers that do not change what they get.
import { readFileSync, statSync, type Stats } from 'node:fs';
import { errnoOf } from './errors.js';

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

export class FileCache<T> {
  private readonly entries = new Map<string, { key: string; value: T }>();

  /** The parsed file, or undefined when it does not exist. */
  get(file: string, parse: (text: string) => T): T | undefined {
    let key: string | undefined;
    let text: string;
    try {
      // stat before reading: a change during the read gives another key at the next call
      key = fileKey(file);
      if (key === undefined) {
        this.entries.delete(file);
        return undefined;
      }
      const hit = this.entries.get(file);
      if (hit?.key === key) return hit.value;
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw e;
      this.entries.delete(file);
      return undefined;
    }
    const value = parse(text);
    this.entries.set(file, { key, value });
    return value;
  }
}
