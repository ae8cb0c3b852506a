// Host id ranges are a host-wide resource: a registry shared by every installation on the host
// (one symlink per context, naming the installation's root) and the subordinate ids that
// /etc/subuid and /etc/subgid give to users.
import { mkdirSync, readdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CONTEXT_MAX, CONTEXT_MIN } from '../guest/schema.js';
import { errnoOf } from '../util/errors.js';
import { readIfExists } from '../util/fs.js';
import { IDS_PER_GUEST } from '../guest/idmap.js';

export interface SubidGrant {
  file: string;
  user: string;
  start: number;
  count: number;
}

/** Lines `user:start:count` of /etc/subuid or /etc/subgid (pure); others are skipped. */
export function parseSubid(file: string, text: string): SubidGrant[] {
  const out: SubidGrant[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([^:#\s][^:]*):(\d+):(\d+)\s*$/.exec(line);
    if (m) out.push({ file, user: m[1]!, start: Number(m[2]), count: Number(m[3]) });
  }
  return out;
}

/** Contexts whose id range overlaps a grant of the given files, with who holds it (files that do not exist hold none). */
export function subidHolders(files: readonly string[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const file of files) {
    for (const g of parseSubid(file, readIfExists(file) ?? '')) {
      if (g.count === 0) continue;
      const first = Math.max(CONTEXT_MIN, Math.floor(g.start / IDS_PER_GUEST));
      const last = Math.min(CONTEXT_MAX, Math.floor((g.start + g.count - 1) / IDS_PER_GUEST));
      for (let c = first; c <= last; c++) if (!out.has(c)) out.set(c, `user '${g.user}' (${file})`);
    }
  }
  return out;
}

/** The registry directory: entry CONTEXT is a symlink to the root of the installation that holds it. */
export class RangeRegistry {
  constructor(
    readonly dir: string,
    private readonly root: string,
  ) {}

  /** The lock that makes check-then-claim exclusive across installations. */
  get lock(): string {
    return join(this.dir, '.registry');
  }

  /** Every claim: context -> installation root. */
  claims(): Map<number, string> {
    const out = new Map<number, string>();
    let entries: string[] = [];
    try {
      entries = readdirSync(this.dir);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw e;
    }
    for (const e of entries) {
      if (!/^\d+$/.test(e)) continue;
      try {
        out.set(Number(e), readlinkSync(join(this.dir, e)));
      } catch {
        /* released just now */
      }
    }
    return out;
  }

  /** The installation root that holds a context, if any (one readlink). */
  holder(context: number): string | undefined {
    try {
      return readlinkSync(join(this.dir, String(context)));
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Claims a context for this installation, replacing a claim the caller found stale. Call under the lock. */
  claim(context: number): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    const entry = join(this.dir, String(context));
    try {
      if (readlinkSync(entry) === this.root) return;
      unlinkSync(entry);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw e;
    }
    symlinkSync(this.root, entry);
  }

  /** Gives a context back, if this installation holds it. */
  release(context: number): void {
    const entry = join(this.dir, String(context));
    try {
      if (readlinkSync(entry) === this.root) unlinkSync(entry);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw e;
    }
  }
}
