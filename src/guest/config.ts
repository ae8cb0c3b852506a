// Reading and writing the TOML files against the schema; errors name file, key and what is allowed.
import * as v from 'valibot';
import { parse as parseToml, stringify as stringifyToml, TomlError } from 'smol-toml';
import { VsError } from '../util/errors.js';
import { GuestConfigSchema, HostConfigSchema, type GuestConfig, type HostConfig, type ShownConfig } from './schema.js';
import type { LimitsInput } from './limits-schema.js';
import { keyLine } from './toml-lines.js';

/** Where in the file the (first) problem is, when known: the dotted key and the 1-based line of the text. */
export interface ConfigWhere {
  key?: string;
  line?: number;
}

/** An invalid configuration file, pointing at the key and line to fix when it knows them. */
export class ConfigError extends VsError {
  constructor(
    message: string,
    hint: string,
    readonly where: ConfigWhere,
  ) {
    super('CONFIG_INVALID', message, hint);
  }
}

type AnySchema = v.GenericSchema | v.GenericSchemaAsync;

/** Keys that the schema allows at `path`, for the "unknown key" message. */
function allowedKeys(schema: unknown, path: readonly (string | number)[]): string[] {
  let s = schema as Record<string, unknown> | undefined;
  const unwrap = () => {
    for (;;) {
      if (!s) return;
      if (Array.isArray(s.pipe) && s.type !== 'strict_object') s = s.pipe[0] as Record<string, unknown>;
      else if (s.wrapped) s = s.wrapped as Record<string, unknown>;
      else return;
    }
  };
  unwrap();
  for (const key of path) {
    if (!s) return [];
    if (s.entries) s = (s.entries as Record<string, Record<string, unknown>>)[String(key)];
    else if (s.item) s = s.item as Record<string, unknown>;
    else if (s.value) s = s.value as Record<string, unknown>;
    else return [];
    unwrap();
  }
  return s?.entries ? Object.keys(s.entries as object) : [];
}

function describeValue(x: unknown): string {
  if (x === undefined) return 'nothing';
  if (Array.isArray(x)) return 'an array';
  if (x instanceof Date) return 'a date';
  if (typeof x === 'object' && x !== null) return 'a table';
  return `${typeof x} ${JSON.stringify(x)}`;
}

/** The issues as one error; with the file's text, it also names the line of the first one. */
export function formatIssues(file: string, schema: AnySchema, issues: readonly v.BaseIssue<unknown>[], text?: string): ConfigError {
  const lines = issues.slice(0, 8).map((i) => {
    const keys = (i.path ?? []).map((p) => p.key as string | number);
    const key = keys.join('.') || '(top level)';
    if (i.type === 'strict_object' && i.expected === 'never') {
      const allowed = allowedKeys(schema, keys.slice(0, -1));
      return `unknown key '${key}'; allowed here: ${allowed.join(', ')}`;
    }
    if (i.received === 'undefined') return `key '${key}' is missing`;
    if (i.kind === 'schema' && i.message.startsWith('Invalid type')) {
      return `key '${key}': expected ${i.expected}, got ${describeValue(i.input)}`;
    }
    return /^(must|is|has) /.test(i.message) ? `key '${key}' ${i.message}` : `key '${key}': ${i.message}`;
  });
  const first = (issues[0]?.path ?? []).map((p) => p.key as string | number);
  const line = text === undefined ? undefined : keyLine(text, first);
  return new ConfigError(`${file}: ${lines.join('; ')}`, `edit ${file} and correct ${issues.length === 1 ? 'that key' : 'those keys'}`, {
    ...(first.length > 0 ? { key: first.join('.') } : {}),
    ...(line === undefined ? {} : { line }),
  });
}

export function parseTomlText(file: string, text: string): Record<string, unknown> {
  try {
    return parseToml(text);
  } catch (e) {
    const msg = e instanceof TomlError ? `line ${e.line}, column ${e.column}: ${e.message.split('\n')[0]}` : String(e);
    throw new ConfigError(`${file}: not valid TOML (${msg})`, `fix the syntax of ${file}`, e instanceof TomlError ? { line: e.line } : {});
  }
}

/** Checks data against a schema; `text`, the TOML it came from, lets the error name the line. */
export function validate<S extends AnySchema>(file: string, schema: S, data: unknown, text?: string): v.InferOutput<S> {
  const r = v.safeParse(schema as v.GenericSchema, data, { abortEarly: false });
  if (!r.success) throw formatIssues(file, schema, r.issues, text);
  return r.output as v.InferOutput<S>;
}

export function parseGuestConfig(file: string, text: string): GuestConfig {
  return validate(file, GuestConfigSchema, parseTomlText(file, text), text);
}

/** The checked config with the values the schema types in the words of `doc`, the document it was checked from. */
export function shownConfig(config: GuestConfig, doc: { limits?: unknown }): ShownConfig {
  const { limits: _, ...rest } = config;
  return doc.limits === undefined ? rest : { ...rest, limits: doc.limits as LimitsInput };
}

export function parseHostConfig(file: string, text: string): HostConfig {
  return validate(file, HostConfigSchema, parseTomlText(file, text));
}

/** Serialises a config, leaving out keys whose value is undefined. */
export function toToml(data: Record<string, unknown>): string {
  const clean = JSON.parse(JSON.stringify(data)) as Record<string, unknown>;
  return stringifyToml(clean) + '\n';
}

/** A value from the command line: TOML syntax if it parses as a value (10, true, ["a"]), else a plain string. */
export function parseValue(raw: string): unknown {
  try {
    return (parseToml(`v = ${raw}`) as Record<string, unknown>).v;
  } catch {
    return raw;
  }
}

type Table = Record<string, unknown>;

export function getKey(cfg: Table, key: string): unknown {
  return key.split('.').reduce<unknown>((t, k) => (t && typeof t === 'object' ? (t as Table)[k] : undefined), cfg);
}

/** Sets (or with undefined removes) the value at a path of table keys, making tables on the way. */
export function setPath(cfg: Table, parts: readonly string[], value: unknown): void {
  let t = cfg;
  for (const p of parts.slice(0, -1)) {
    if (typeof t[p] !== 'object' || t[p] === null) t[p] = {};
    t = t[p] as Table;
  }
  if (value === undefined) delete t[parts[parts.length - 1]!];
  else t[parts[parts.length - 1]!] = value;
}
