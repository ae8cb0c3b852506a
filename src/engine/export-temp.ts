// An export is written to a temporary file beside its target and renamed when complete. The file's
// path is recorded under run/ for as long as it exists, so that gc can remove what a killed export
// left wherever its target was.
import { readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { processStartTime } from '../util/procfs.js';
import { uniqueSuffix } from '../util/unique.js';
import type { Deps } from './deps.js';

const TEMP = /^\.[a-z0-9][a-z0-9-]{0,62}\.export-(\d+)-[\w-]+$/;

function recordDir(deps: Deps): string {
  return join(deps.paths.run, 'exports');
}

export interface ExportTemp {
  path: string;
  /** Removes the temporary file (when it is still there) and its record. */
  drop(): void;
  /** Forgets the record once the file was renamed into place. */
  done(): void;
}

/** A new temporary path beside `file`, recorded before anything is written there. */
export function exportTemp(deps: Deps, name: string, file: string): ExportTemp {
  const path = resolve(join(dirname(file), `.${name}.export-${process.pid}-${uniqueSuffix()}`));
  mkdirSync(recordDir(deps), { recursive: true, mode: 0o700 });
  const record = join(recordDir(deps), basename(path));
  writeFileSync(record, `${path}\n`, { mode: 0o600 });
  const forget = () => rmSync(record, { force: true });
  return {
    path,
    drop: () => {
      rmSync(path, { force: true });
      rmSync(`${path}.sig`, { force: true });
      forget();
    },
    done: forget,
  };
}

/** Removes the temporary files of exports whose process is gone; returns them, in words. */
export function sweepExportTemps(deps: Deps): string[] {
  const removed: string[] = [];
  let records: string[] = [];
  try {
    records = readdirSync(recordDir(deps));
  } catch {
    return removed;
  }
  for (const r of records) {
    const m = TEMP.exec(r);
    if (!m || Number(m[1]) === process.pid || processStartTime(Number(m[1])) !== undefined) continue;
    const path = readFileSync(join(recordDir(deps), r), 'utf8').trim();
    // only ever the file the record names, and only if it has the name an export gives it
    if (basename(path) === r) {
      rmSync(path, { force: true });
      rmSync(`${path}.sig`, { force: true });
    }
    rmSync(join(recordDir(deps), r), { force: true });
    removed.push(`unfinished export ${path}`);
  }
  return removed;
}
