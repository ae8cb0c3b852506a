// vserver export / import: a stopped guest as one compressed stream, and back, verified.
import { closeSync, mkdirSync, openSync, readFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { shownConfig, validate } from '../guest/config.js';
import { checkName } from '../guest/name.js';
import { GuestConfigSchema, type GuestConfig } from '../guest/schema.js';
import { withoutPrivilege } from '../guest/trust.js';
import { extractExport, FORMAT, readExportHeader, writeExport, type ExportHeader, type ExportReader } from '../storage/archive.js';
import { signFile, verifyFile } from '../storage/signature.js';
import { crashPoint } from '../util/crash.js';
import { requireRealDir } from '../util/fs.js';
import { VsError } from '../util/errors.js';
import { isNoSpace, noSpaceError } from '../util/space.js';
import { withLock } from '../util/lock.js';
import type { Deps } from './deps.js';
import { ensureMounted } from './mount.js';
import { clearUnfinished, placeGuest, removeLeftover, reserve } from './reserve.js';
import { checkNotReowning } from './reown.js';
import { exportTemp } from './export-temp.js';
import { guestIds, guestInfo, isActive } from './state.js';
import { sealTreeDir } from './tree-access.js';
import { guestTree } from './trees.js';
import type { GuestInfo } from './types.js';

export interface ExportResult {
  name: string;
  members: number;
  /** Files owned by ids outside the guest's range (written as nobody). */
  unmapped: number;
  file: string;
  /** The signature beside the file, when asked to sign. */
  signature?: string;
}

export function exportGuest(deps: Deps, name: string, file: string, opts: { sign?: string } = {}): Promise<ExportResult> {
  checkName(name);
  if (opts.sign !== undefined && file === '-') {
    throw new VsError(
      'USAGE',
      'an export to standard output cannot be signed: the signature is a file beside the archive',
      `export to a file: vserver export ${name} ${name}.tar.zst --sign ${opts.sign}`,
    );
  }
  return withLock(deps.paths.lock(name), `vserver export ${name}`, async () => {
    const cfg = deps.store.read(name);
    checkNotReowning(deps, name);
    if (isActive(await (await deps.runtime()).state(name))) {
      throw new VsError(
        'ALREADY_RUNNING',
        `guest '${name}' is running; export takes a stopped guest, so that its files hold still`,
        `stop it first with 'vserver stop ${name}'`,
      );
    }
    await ensureMounted(deps, name, cfg);
    guestTree(deps, name);
    const header = { format: FORMAT, name, config: readFileSync(deps.paths.guestConfig(name), 'utf8'), exported: new Date().toISOString() };
    const ids = guestIds(deps, cfg);
    if (file === '-') {
      const r = await writeExport(deps.paths.guestDir(name), header, ids, 1, scratch(deps));
      return { name, ...r, file };
    }
    // written beside the target and renamed when complete: a failed export leaves no half file, and
    // a killed one a file that gc finds through its record
    const temp = exportTemp(deps, name, file);
    const tmp = temp.path;
    const fd = openSync(tmp, 'wx', 0o600);
    let open = true;
    try {
      const r = await writeExport(deps.paths.guestDir(name), header, ids, fd, scratch(deps), resolve(file));
      closeSync(fd);
      open = false;
      crashPoint('export:written');
      // signed before it is renamed: a failed signature leaves no unsigned archive behind either
      const signature = opts.sign === undefined ? undefined : `${file}.sig`;
      if (signature !== undefined) renameSync(await signFile(tmp, opts.sign!), signature);
      renameSync(tmp, file);
      temp.done();
      return { name, ...r, file, ...(signature ? { signature } : {}) };
    } catch (e) {
      if (open) closeSync(fd);
      temp.drop();
      throw isNoSpace(e) ? noSpaceError(e, tmp, `writing the export to ${file} (nothing was kept)`) : e;
    }
  });
}

export interface ImportOptions {
  name?: string;
  /** A public key: the export must carry a good signature (FILE.sig) by it. */
  verify?: string;
  /** Keep what the archive's config asks for even where it raises privilege. */
  trustConfig?: boolean;
}

export interface ImportResult extends GuestInfo {
  /** Settings of the archive's config that were left out because they raise privilege. */
  dropped: string[];
  /** The same settings, kept because the user trusted the config. */
  trusted: string[];
}

export async function importGuest(deps: Deps, file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  if (opts.verify !== undefined) {
    if (file === '-') {
      throw new VsError(
        'USAGE',
        'an export on standard input cannot be verified: its signature is a file beside it',
        `import the file: vserver import FILE --verify ${opts.verify}`,
      );
    }
    await verifyFile(file, `${file}.sig`, opts.verify, scratch(deps));
  }
  const { header, tar } = await readExportHeader(file);
  const what = file === '-' ? 'the export on standard input' : `export ${file}`;
  // the reader of the archive runs from here on: every way out, a lock not taken included, stops it
  try {
    const name = checkName(opts.name ?? header.name);
    return await withLock(deps.paths.lock(name), `vserver import ${name}`, () => importLocked(deps, name, header, tar, what, opts));
  } finally {
    tar.kill();
  }
}

async function importLocked(
  deps: Deps,
  name: string,
  header: ExportHeader,
  tar: ExportReader,
  what: string,
  opts: ImportOptions,
): Promise<ImportResult> {
  if (deps.store.exists(name)) {
    throw new VsError('ALREADY_EXISTS', `guest '${name}' already exists`, 'give the imported guest another name with --name NEW');
  }
  const raw = parseToml(header.config) as Record<string, unknown>;
  // the imported tree is the guest's own: a dir guest, whatever it was before
  raw.backend = 'dir';
  delete raw.isolated;
  const asked = validate(`${what}: ${'vserver-export.json'} config`, GuestConfigSchema, raw);
  const safe = withoutPrivilege(asked);
  const wanted = opts.trustConfig ? asked : safe.config;
  await clearUnfinished(deps, name);
  const { context, tmp } = await reserve(deps, 'guest', name, wanted.context, { prefer: true });
  const cfg: GuestConfig = { ...wanted, context };
  try {
    const ids = guestIds(deps, cfg);
    crashPoint('import:reserved');
    await extractExport(tmp, tar, ids, what);
    crashPoint('import:extracted');
    requireRealDir(join(tmp, 'rootfs'), `the tree of ${what}`, 'the archive holds no guest tree; export the guest again');
    sealTreeDir(tmp, ids);
    await placeGuest(deps, name, tmp, () => {
      deps.store.write(name, shownConfig(cfg, raw));
    });
    const info = guestInfo(name, cfg, undefined, ids);
    return opts.trustConfig ? { ...info, dropped: [], trusted: safe.dropped } : { ...info, dropped: safe.dropped, trusted: [] };
  } catch (e) {
    await removeLeftover(tmp);
    throw e;
  }
}

/** A private directory for short-lived files of ours (tmpfs under run/). */
function scratch(deps: Deps): string {
  const d = join(deps.paths.run, 'tmp');
  mkdirSync(d, { recursive: true, mode: 0o700 });
  return d;
}
