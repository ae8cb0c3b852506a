// The guest configs on disk: etc/vserver/guests/NAME.toml, and the host's vserver.toml.
import { createHash } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';
import { VsError, errnoOf } from '../util/errors.js';
import { FileCache } from '../util/file-cache.js';
import { readdirIfExists, readIfExists } from '../util/fs.js';
import type { Paths } from '../util/paths.js';
import { VERSION } from '../version.js';
import { GuestIndex, type SummaryResult } from './guest-index.js';
import { parseGuestConfig, parseHostConfig, parseTomlText, setPath, toToml, validate } from './config.js';
import { checkName, NAME_PATTERN } from './name.js';
import { GuestConfigSchema, type GuestConfig, type GuestDocument, type HostConfig } from './schema.js';

type Table = Record<string, unknown>;

/** A guest's config file as it is: its text, its version, its document and what it says (checked, typed). */
export interface ConfigDocument {
  text: string;
  /** The hex sha256 of the file's bytes: what a change made on this reading must still find. */
  version: string;
  /** The TOML as written: what is shown and written back, so that "512M" stays "512M". */
  doc: GuestDocument;
  config: GuestConfig;
}

/**
 * A change of a config file: keys to set (dotted for tables; null removes the key), or the whole
 * TOML text. `paths` is `set` with the path given as parts, for keys whose parts hold a dot (devices).
 */
export type ConfigEdit = { set: Record<string, unknown> } | { text: string } | { paths: [readonly string[], unknown][] };

/** A checked change not yet written: the file before, the new document and config, and how to write it. */
export interface PreparedEdit {
  before: ConfigDocument;
  doc: GuestDocument;
  config: GuestConfig;
  text: string;
  version: string;
  write(): void;
}

export interface EditOptions {
  /** The version the change was made on; another one in the file refuses it (CONFLICT). */
  ifVersion?: string;
  /** A check of the changed document before the schema's, for errors more exact than the schema's. */
  check?: (doc: Table) => void;
}

export function versionOf(bytes: string | Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

type ReadResult = { config: GuestConfig; error?: undefined } | { config?: undefined; error: VsError };

export class GuestStore {
  /** readAll's parses: a bulk run asks for every guest once per guest it starts. */
  private readonly parsed = new FileCache<ReadResult>();

  private readonly index: GuestIndex;

  constructor(private readonly paths: Paths) {
    this.index = new GuestIndex(paths.guestIndex, VERSION);
  }

  names(): string[] {
    return readdirIfExists(this.paths.guestConfigDir)
      .filter((f) => f.endsWith('.toml'))
      .map((f) => f.slice(0, -5))
      .filter((n) => NAME_PATTERN.test(n))
      .sort();
  }

  exists(name: string): boolean {
    return readIfExists(this.paths.guestConfig(checkName(name))) !== undefined;
  }

  read(name: string): GuestConfig {
    const file = this.paths.guestConfig(checkName(name));
    const text = readIfExists(file);
    if (text === undefined) throw notFound(name, file);
    return parseGuestConfig(file, text);
  }

  /** The file, its version and its config; one read, so that all three belong together. */
  document(name: string): ConfigDocument {
    const file = this.paths.guestConfig(checkName(name));
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') throw notFound(name, file);
      throw e;
    }
    const text = bytes.toString('utf8');
    const doc = parseTomlText(file, text) as GuestDocument;
    return { text, version: versionOf(bytes), doc, config: validate(file, GuestConfigSchema, doc, text) };
  }

  /**
   * The one way a config file changes: read it, apply the edit to the document, check it with the
   * schema, and hand back the result with write() (atomic). The caller holds the guest's lock and
   * may refuse or act on the host between checking and writing.
   */
  prepareEdit(name: string, edit: ConfigEdit, opts: EditOptions = {}): PreparedEdit {
    const file = this.paths.guestConfig(checkName(name));
    const before = this.document(name);
    if (opts.ifVersion !== undefined && opts.ifVersion !== before.version) {
      throw new VsError(
        'CONFLICT',
        `the configuration of guest '${name}' changed since version ${opts.ifVersion.slice(0, 12)} was read ` +
          `(it is now at ${before.version.slice(0, 12)}); nothing was changed`,
        'read the configuration again and make the change on what it says now',
      );
    }
    let doc: Table;
    if ('text' in edit) {
      doc = parseTomlText(file, edit.text);
    } else {
      doc = parseTomlText(file, before.text);
      const changes = 'set' in edit ? Object.entries(edit.set).map(([k, v]) => [k.split('.'), v] as const) : edit.paths;
      for (const [parts, value] of changes) {
        if (parts.length === 0 || parts.some((p) => p === '')) {
          throw new VsError(
            'USAGE',
            `'${parts.join('.')}' is not a key`,
            "name keys as in the file, dotted for tables, for example 'limits.memory.max'",
          );
        }
        setPath(doc, parts, value === null ? undefined : value);
      }
    }
    opts.check?.(doc);
    // the line of a problem is only worth naming in text the caller wrote
    const config = validate(file, GuestConfigSchema, doc, 'text' in edit ? edit.text : undefined);
    const text = 'text' in edit ? edit.text : toToml(doc);
    return { before, doc: doc as GuestDocument, config, text, version: versionOf(text), write: () => writeFileAtomic(file, text) };
  }

  /**
   * Reads every guest; a broken file is reported as such instead of hiding the others. The configs
   * are shared with later calls while their files are unchanged: callers only read them.
   */
  readAll(): { name: string; config?: GuestConfig; error?: VsError }[] {
    const out: { name: string; config?: GuestConfig; error?: VsError }[] = [];
    for (const name of this.names()) {
      const file = this.paths.guestConfig(name);
      const r = this.parsed.get(file, (text): ReadResult => {
        try {
          return { config: parseGuestConfig(file, text) };
        } catch (e) {
          if (e instanceof VsError) return { error: e };
          throw e;
        }
      });
      // gone since the directory was listed
      if (r) out.push({ name, ...r });
    }
    return out;
  }

  /**
   * What the views of all guests need of each config, from the guest index: only configs changed
   * since it was written are parsed. A broken file gives the error that reading it gives.
   */
  summaries(): SummaryResult[] {
    return this.index.summaries(this.names(), (n) => this.paths.guestConfig(n), parseGuestConfig);
  }

  /** Writes a new config: the document as given (never the typed values the schema makes of it), once it checks. */
  write(name: string, doc: GuestDocument): GuestConfig {
    const file = this.paths.guestConfig(checkName(name));
    const config = validate(file, GuestConfigSchema, doc);
    writeFileAtomic(file, toToml(doc as Record<string, unknown>));
    return config;
  }

  remove(name: string): void {
    try {
      unlinkSync(this.paths.guestConfig(checkName(name)));
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw e;
    }
  }
}

function notFound(name: string, file: string): VsError {
  return new VsError(
    'NOT_FOUND',
    `guest '${name}' not found (no ${file})`,
    "run 'vserver list' to see the guests, or 'vserver build' to make one",
  );
}

export function readHostConfig(paths: Paths): HostConfig {
  const text = readIfExists(paths.hostConfig);
  return parseHostConfig(paths.hostConfig, text ?? '');
}
