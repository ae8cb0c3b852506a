// vserver export / import: a stopped guest as one compressed stream, and back, verified.
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { validate } from '../guest/config.js';
import { checkName } from '../guest/name.js';
import { GuestConfigSchema, type GuestConfig } from '../guest/schema.js';
import { extractExport, FORMAT, readExportHeader, writeExport } from '../storage/archive.js';
import { fsyncDir } from '../util/atomic.js';
import { VsError } from '../util/errors.js';
import { withLock } from '../util/lock.js';
import { uniqueSuffix } from '../util/unique.js';
import type { Deps } from './deps.js';
import { ensureMounted } from './mount.js';
import { contextsInUse, removeLeftover, reserve } from './reserve.js';
import { checkNotReowning } from './reown.js';
import { guestIds, guestInfo, isActive } from './state.js';
import type { GuestInfo } from './types.js';

export interface ExportResult {
  name: string;
  members: number;
  /** Files owned by ids outside the guest's range (written as nobody). */
  unmapped: number;
  file: string;
}

export function exportGuest(deps: Deps, name: string, file: string): Promise<ExportResult> {
  checkName(name);
  return withLock(deps.paths.lock(name), `vserver export ${name}`, async () => {
    const cfg = deps.store.read(name);
    checkNotReowning(deps, name);
    if (isActive(await (await deps.runtime()).state(name))) {
      throw new VsError('ALREADY_RUNNING', `guest '${name}' is running; export takes a stopped guest, so that its files hold still`,
        `stop it first with 'vserver stop ${name}'`);
    }
    await ensureMounted(deps, name, cfg);
    const header = { format: FORMAT, name, config: readFileSync(deps.paths.guestConfig(name), 'utf8'), exported: new Date().toISOString() };
    const ids = guestIds(deps, cfg);
    if (file === '-') {
      const r = await writeExport(deps.paths.guestDir(name), header, ids, 1, scratch(deps));
      return { name, ...r, file };
    }
    // written beside the target and renamed when complete: a failed export leaves no half file
    const tmp = join(dirname(file), `.${name}.export-${uniqueSuffix()}`);
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      const r = await writeExport(deps.paths.guestDir(name), header, ids, fd, scratch(deps));
      closeSync(fd);
      renameSync(tmp, file);
      return { name, ...r, file };
    } catch (e) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw e;
    }
  });
}

export async function importGuest(deps: Deps, file: string, opts: { name?: string } = {}): Promise<GuestInfo> {
  const { header, tar } = await readExportHeader(file);
  const what = file === '-' ? 'the export on standard input' : `export ${file}`;
  let name: string;
  try {
    name = checkName(opts.name ?? header.name);
  } catch (e) {
    tar.kill();
    throw e;
  }
  return withLock(deps.paths.lock(name), `vserver import ${name}`, async () => {
    try {
      if (deps.store.exists(name)) {
        throw new VsError('ALREADY_EXISTS', `guest '${name}' already exists`, 'give the imported guest another name with --name NEW');
      }
      const raw = parseToml(header.config) as Record<string, unknown>;
      // the imported tree is the guest's own: a dir guest, whatever it was before
      raw.backend = 'dir';
      delete raw.isolated;
      const wanted = validate(`${what}: ${'vserver-export.json'} config`, GuestConfigSchema, raw);
      const used = await contextsInUse(deps, '');
      const { context, tmp } = await reserve(deps, 'guest', name, used.has(wanted.context) ? undefined : wanted.context);
      const cfg: GuestConfig = { ...wanted, context };
      try {
        const ids = guestIds(deps, cfg);
        await extractExport(tmp, tar, ids, what);
        chmodSync(tmp, 0o711);
        renameSync(tmp, deps.paths.guestDir(name));
        fsyncDir(deps.paths.guestsDir);
        deps.store.write(name, cfg);
        return guestInfo(name, cfg, undefined, ids);
      } catch (e) {
        await removeLeftover(tmp);
        throw e;
      }
    } finally {
      tar.kill();
    }
  });
}

/** A private directory for short-lived files of ours (tmpfs under run/). */
function scratch(deps: Deps): string {
  const d = join(deps.paths.run, 'tmp');
  mkdirSync(d, { recursive: true, mode: 0o700 });
  return d;
}
