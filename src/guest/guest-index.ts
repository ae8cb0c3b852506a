// The guest index (run/vserver/guests.json): what the views of every guest (list, stat, ps, top)
// need of each config, with the stat key of the file it came from. A view then parses only the
// configs that changed since, instead of a thousand TOML files on every call.
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { VsError } from '../util/errors.js';
import { fileKey, statKey } from '../util/file-cache.js';
import { orIoError, readIfExists } from '../util/fs.js';
import { NET_MODES, type NetMode } from './net-schema.js';
import { BACKENDS, INIT_STYLES, type GuestConfig, type InitStyle } from './schema.js';

/** The part of a guest's config that the views of all guests show or need. */
export type GuestSummary = Pick<
  GuestConfig,
  'context' | 'hostname' | 'init' | 'backend' | 'template' | 'mark' | 'privileged' | 'interfaces'
>;

export function summaryOf(c: GuestConfig): GuestSummary {
  const { context, hostname, init, backend, template, mark, privileged, interfaces } = c;
  return { context, hostname, init, backend, template, mark, privileged, interfaces };
}

/** Bumped when the summary or the way a config is checked changes: an index of another format is made anew. */
const FORMAT = 1;

/**
 * A file changed this recently may change again within the same timestamp tick, leaving its key as
 * it was: it is parsed each time until it is older (the "racy" entries of git's index).
 */
const SETTLED_MS = 1000;

/** The shape of each entry, checked by hand: a schema library takes longer over a thousand entries than the rest of a listing. */
function isEntry(x: unknown): x is Entry {
  if (typeof x !== 'object' || x === null) return false;
  const { key, summary: s } = x as { key?: unknown; summary?: Record<string, unknown> };
  if (typeof key !== 'string' || typeof s !== 'object' || s === null) return false;
  const optional = (k: string) => s[k] === undefined || typeof s[k] === 'string';
  return (
    Number.isInteger(s.context) &&
    INIT_STYLES.includes(s.init as InitStyle) &&
    BACKENDS.includes(s.backend as GuestConfig['backend']) &&
    typeof s.privileged === 'boolean' &&
    optional('hostname') &&
    optional('template') &&
    optional('mark') &&
    (s.interfaces === undefined ||
      (Array.isArray(s.interfaces) &&
        s.interfaces.every((i: unknown) => typeof i === 'object' && i !== null && NET_MODES.includes((i as { mode: NetMode }).mode))))
  );
}

/** The entries of an index file, if it is one of this format and version; anything else is no index. */
function entriesOf(text: string, version: string): Map<string, Entry> | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  const d = data as { format?: unknown; version?: unknown; guests?: unknown };
  if (typeof data !== 'object' || data === null || d.format !== FORMAT || d.version !== version) return undefined;
  if (typeof d.guests !== 'object' || d.guests === null || Array.isArray(d.guests)) return undefined;
  const entries = Object.entries(d.guests);
  return entries.every(([, e]) => isEntry(e)) ? new Map(entries as [string, Entry][]) : undefined;
}

type Entry = { key: string; summary: GuestSummary };
export type SummaryResult =
  | { name: string; summary: GuestSummary; error?: undefined }
  | { name: string; summary?: undefined; error: VsError };

export class GuestIndex {
  /** The index as last read or written by this process, with the key of its file then. */
  private loaded?: { key: string | undefined; guests: Map<string, Entry> };

  constructor(
    private readonly file: string,
    /** The code's version: an index written by another one is not trusted. */
    private readonly version: string,
    private readonly settledMs = SETTLED_MS,
  ) {}

  /**
   * The summary of each named config (files gone meanwhile are left out); a config that does not
   * parse gives its error, as reading it would. Changes are written back for the next caller.
   */
  summaries(
    names: readonly string[],
    fileOf: (name: string) => string,
    parse: (file: string, text: string) => GuestConfig,
  ): SummaryResult[] {
    const known = this.load();
    const guests = new Map<string, Entry>();
    const out: SummaryResult[] = [];
    const settled = Date.now() - this.settledMs;
    for (const name of names) {
      const file = fileOf(name);
      const st = statSync(file, { throwIfNoEntry: false });
      if (!st) continue; // deleted since the directory was read
      const key = statKey(st);
      const hit = known.get(name);
      if (hit?.key === key) {
        guests.set(name, hit);
        out.push({ name, summary: hit.summary });
        continue;
      }
      const text = readIfExists(file);
      if (text === undefined) continue;
      let summary: GuestSummary;
      try {
        summary = summaryOf(parse(file, text));
      } catch (e) {
        if (!(e instanceof VsError)) throw e;
        out.push({ name, error: e });
        continue;
      }
      out.push({ name, summary });
      if (st.ctimeMs < settled && st.mtimeMs < settled) guests.set(name, { key, summary });
    }
    if (guests.size !== known.size || [...guests].some(([n, e]) => known.get(n) !== e)) this.store(guests);
    return out;
  }

  private load(): Map<string, Entry> {
    const key = fileKey(this.file);
    if (this.loaded && key !== undefined && this.loaded.key === key) return this.loaded.guests;
    // a damaged or unreadable index, or one of another version, is only an index to make again: the configs are the truth
    const text = key === undefined ? undefined : orIoError(() => readFileSync(this.file, 'utf8'));
    const guests = (text === undefined ? undefined : entriesOf(text, this.version)) ?? new Map<string, Entry>();
    this.loaded = { key, guests };
    return guests;
  }

  private store(guests: Map<string, Entry>): void {
    // nothing is made under a root that has no run directory yet (a listing changes nothing)
    if (!statSync(dirname(this.file), { throwIfNoEntry: false })?.isDirectory()) return;
    const text = JSON.stringify({ format: FORMAT, version: this.version, guests: Object.fromEntries(guests) });
    // a read-only or full file system, or a caller without write access: the next view parses again
    const written = orIoError(() => {
      writeFileAtomic(this.file, text, 0o644, { durable: false });
      return true;
    });
    if (written) this.loaded = { key: fileKey(this.file), guests };
  }
}
