// Bearer tokens for the daemon's HTTPS listener: stored as SHA-256 hashes in a file only root reads;
// the plain token is shown once, when it is made.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { VsError } from '../util/errors.js';
import { readIfExists } from '../util/fs.js';
import { withLock } from '../util/lock.js';
import type { Paths } from '../util/paths.js';

export interface TokenRecord {
  /** Short public id (the start of the hash), for list and revoke. */
  id: string;
  name: string;
  sha256: string;
  created: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export const apiDir = (paths: Paths): string => join(paths.lib, 'api');
/** var/lib/vserver/api, root's only; its parents keep the mode guests need to pass through. */
export function ensureApiDir(paths: Paths): string {
  mkdirSync(paths.lib, { recursive: true, mode: 0o755 });
  mkdirSync(apiDir(paths), { mode: 0o700, recursive: true });
  chmodSync(apiDir(paths), 0o700);
  return apiDir(paths);
}

export const tokensFile = (paths: Paths): string => join(apiDir(paths), 'tokens.json');

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export function readTokens(paths: Paths): TokenRecord[] {
  const text = readIfExists(tokensFile(paths));
  if (text === undefined) return [];
  try {
    const list = JSON.parse(text) as unknown;
    if (Array.isArray(list)) return list as TokenRecord[];
  } catch {
    /* reported below */
  }
  throw new VsError('CONFIG_INVALID', `${tokensFile(paths)} is not a token list`, 'restore it, or remove it and create the tokens again');
}

function save(paths: Paths, list: TokenRecord[]): void {
  ensureApiDir(paths);
  writeFileAtomic(tokensFile(paths), `${JSON.stringify(list, null, 2)}\n`, 0o600);
}

const edit = <T>(paths: Paths, fn: (list: TokenRecord[]) => T): Promise<T> =>
  withLock(join(paths.locks, '.api-tokens'), 'vserver token', async () => {
    const list = readTokens(paths);
    const r = fn(list);
    save(paths, list);
    return r;
  });

/** Makes a token; the plain text is returned here and never stored. */
export async function createToken(paths: Paths, name?: string): Promise<{ token: string; record: TokenRecord }> {
  if (name !== undefined && !NAME.test(name)) {
    throw new VsError('INVALID_VALUE', `'${name}' is not a token name`, 'use up to 64 letters, digits, dots, dashes, underscores or @');
  }
  return edit(paths, (list) => {
    if (name !== undefined && list.some((t) => t.name === name)) {
      throw new VsError(
        'ALREADY_EXISTS',
        `a token named '${name}' exists`,
        `revoke it first with 'vserver token revoke ${name}', or choose another name`,
      );
    }
    const token = `vst_${randomBytes(32).toString('base64url')}`;
    const sha256 = hashToken(token);
    const record = { id: sha256.slice(0, 12), name: name ?? `token-${sha256.slice(0, 6)}`, sha256, created: new Date().toISOString() };
    list.push(record);
    return { token, record };
  });
}

/** Removes the token with this id or name. */
export function revokeToken(paths: Paths, which: string): Promise<TokenRecord> {
  return edit(paths, (list) => {
    const i = list.findIndex((t) => t.id === which || t.name === which);
    if (i < 0) throw new VsError('NOT_FOUND', `no token '${which}'`, "'vserver token list' shows the ids and names");
    return list.splice(i, 1)[0]!;
  });
}

/** The identity a presented token stands for; the file is read again only when it changed. */
export function tokenChecker(paths: Paths): (token: string) => string | undefined {
  let seen = '';
  let byHash = new Map<string, TokenRecord>();
  return (token) => {
    let st;
    try {
      st = statSync(tokensFile(paths));
    } catch {
      return undefined;
    }
    const key = `${st.ino}:${st.mtimeMs}:${st.size}`;
    if (key !== seen) {
      byHash = new Map(readTokens(paths).map((t) => [t.sha256, t]));
      seen = key;
    }
    const t = byHash.get(hashToken(token));
    return t && `token:${t.name}`;
  };
}
