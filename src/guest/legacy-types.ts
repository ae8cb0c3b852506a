// What the translation of a util-vserver guest says about each of its files.

export type LegacyStatus = 'translated' | 'covered' | 'not-translated';

export interface LegacyItem {
  /** The file, relative to the configuration directory. */
  file: string;
  status: LegacyStatus;
  /** The key it set in the guest's TOML (translated only). */
  key?: string;
  value?: unknown;
  /** What it became, why nothing is needed, or what to do instead. */
  note: string;
}

/** Where the translators put what they found. */
export interface Sink {
  set(file: string, key: string, value: unknown, note: string): void;
  /** Adds to the list at key (capabilities from several files). */
  add(file: string, key: string, values: string[], note: string): void;
  covered(file: string, note: string): void;
  not(file: string, note: string): void;
  /** A remark on a translated file (kept with the file as not-translated, so that the user reads it). */
  note(file: string, note: string): void;
}
