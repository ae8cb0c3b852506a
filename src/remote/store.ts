// Named remotes (`vserver remote add`): where a daemon answers and how to prove who we are, in
// etc/vserver/remotes.toml, readable by root only (it holds tokens).
import * as v from 'valibot';
import { parse, stringify } from 'smol-toml';
import { fingerprint, normalFingerprint } from '../guest/api-schema.js';
import { validate } from '../guest/config.js';
import { writeFileAtomic } from '../util/atomic.js';
import { VsError } from '../util/errors.js';
import { readIfExists } from '../util/fs.js';
import type { Paths } from '../util/paths.js';
import { join } from 'node:path';

const url = v.pipe(v.string(), v.regex(/^(unix:\/.+|https:\/\/[^/\s]+(:\d{1,5})?\/?)$/, 'must be unix:/PATH or https://HOST:PORT'));
const absolute = v.pipe(v.string(), v.startsWith('/', 'must be an absolute path'));

export const RemoteSchema = v.strictObject({
  url,
  token: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.~+/=-]{1,200}$/, 'is not a token (vserver token create prints one)'))),
  /** The daemon's certificate, pinned by its SHA-256 (vserverd prints it when it starts). */
  cert_fingerprint: v.optional(fingerprint),
  client_cert: v.optional(absolute),
  client_key: v.optional(absolute),
});
export type Remote = v.InferOutput<typeof RemoteSchema>;

const FileSchema = v.strictObject({
  remotes: v.optional(v.record(v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'is not a remote name')), RemoteSchema), {}),
});

export const remotesFile = (paths: Paths): string => join(paths.etc, 'remotes.toml');

export function readRemotes(paths: Paths): Record<string, Remote> {
  const file = remotesFile(paths);
  const text = readIfExists(file);
  if (text === undefined) return {};
  let data: unknown;
  try {
    data = parse(text);
  } catch (e) {
    throw new VsError(
      'CONFIG_INVALID',
      `${file}: ${(e as Error).message.split('\n')[0]}`,
      'fix the file, or remove it and add the remotes again',
    );
  }
  return validate(file, FileSchema, data).remotes;
}

function save(paths: Paths, remotes: Record<string, Remote>): void {
  writeFileAtomic(remotesFile(paths), stringify({ remotes }), 0o600);
}

export function addRemote(paths: Paths, name: string, remote: Remote): Remote {
  const all = readRemotes(paths);
  if (all[name]) throw new VsError('ALREADY_EXISTS', `remote '${name}' exists`, `remove it first with 'vserver remote remove ${name}'`);
  const checked = validate(remotesFile(paths), FileSchema, { remotes: { ...all, [name]: remote } }).remotes[name]!;
  if (checked.cert_fingerprint) checked.cert_fingerprint = normalFingerprint(checked.cert_fingerprint);
  save(paths, { ...all, [name]: checked });
  return checked;
}

export function removeRemote(paths: Paths, name: string): void {
  const all = readRemotes(paths);
  if (!all[name]) throw new VsError('NOT_FOUND', `no remote '${name}'`, "'vserver remote list' shows them");
  delete all[name];
  save(paths, all);
}

/** --remote / VSERVER_REMOTE: a URL, or the name of a stored remote. */
export function resolveRemote(paths: Paths, spec: string): Remote {
  if (spec.startsWith('unix:') || spec.startsWith('https://')) {
    const r = v.safeParse(url, spec);
    if (!r.success)
      throw new VsError(
        'USAGE',
        `--remote ${spec}: ${r.issues[0].message}`,
        'for example --remote unix:/run/vserver/vserverd.sock or --remote https://host1:8443',
      );
    return { url: spec, token: process.env.VSERVER_TOKEN || undefined };
  }
  const found = readRemotes(paths)[spec];
  if (!found)
    throw new VsError(
      'NOT_FOUND',
      `no remote '${spec}'`,
      "give unix:PATH or https://HOST:PORT, or add it with 'vserver remote add NAME URL'",
    );
  return found;
}
