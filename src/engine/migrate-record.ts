// A migration in progress, recorded under run/ with its process and phase, so that gc can put the
// source right after the migrate process died: thaw a guest it froze, or stop one that already
// runs on the target.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { writeFileAtomic } from '../util/atomic.js';
import { isVsError } from '../util/errors.js';
import { checkJson } from '../util/json.js';
import { withLock } from '../util/lock.js';
import { processStartTime } from '../util/procfs.js';
import type { Deps } from './deps.js';
import type { GcReport } from './gc-files.js';
import { stopLocked } from './stop.js';

/** copying: the guest runs as before; frozen: paused here; finishing: the target places and starts it; switched: it runs there. */
const PHASES = ['copying', 'frozen', 'finishing', 'switched'] as const;
export type Phase = (typeof PHASES)[number];

/** The record as written: the migrate process (pid and start time), where it went, and how far. */
const RecordSchema = v.object({ pid: v.number(), start: v.string(), dest: v.string(), phase: v.picklist(PHASES) });
type Record = v.InferOutput<typeof RecordSchema>;

/** The record in a file, or why it is damaged. */
function readRecord(file: string): { ok: true; value: Record } | { ok: false; why: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { ok: false, why: e instanceof Error ? e.message : String(e) };
  }
  return checkJson(RecordSchema, text);
}

function dir(deps: Deps): string {
  return join(deps.paths.run, 'migrations');
}

export interface MigrationRecord {
  phase(p: Phase): void;
  remove(): void;
}

/** A record of a migration of this guest whose process is gone (the caller holds the guest's lock). */
export function migrationLeft(deps: Deps, name: string): boolean {
  const file = join(dir(deps), `${name}.json`);
  if (!existsSync(file)) return false;
  const rec = readRecord(file);
  // one that died while copying changed nothing here; a damaged one counts as having frozen the guest
  if (!rec.ok || rec.value.phase !== 'copying') return true;
  rmSync(file, { force: true });
  return false;
}

export function recordMigration(deps: Deps, name: string, dest: string): MigrationRecord {
  mkdirSync(dir(deps), { recursive: true, mode: 0o700 });
  const file = join(dir(deps), `${name}.json`);
  const base = { pid: process.pid, start: processStartTime(process.pid) ?? '0', dest };
  const write = (phase: Phase) => writeFileAtomic(file, JSON.stringify({ ...base, phase } satisfies Record), 0o600);
  write('copying');
  return { phase: write, remove: () => rmSync(file, { force: true }) };
}

/** For gc: the migrations whose process is gone, each guest put back in a state it can run from. */
export async function sweepMigrations(deps: Deps): Promise<GcReport[]> {
  let files: string[] = [];
  try {
    files = readdirSync(dir(deps)).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const out: GcReport[] = [];
  for (const f of files) {
    const name = f.slice(0, -5);
    const file = join(dir(deps), f);
    const read = readRecord(file);
    if (!read.ok) {
      rmSync(file, { force: true });
      out.push({ guest: name, removed: [`a damaged migration record ${file} (${read.why})`], problems: [] });
      continue;
    }
    const rec = read.value;
    if (processStartTime(rec.pid) === rec.start) continue;
    try {
      out.push(await withLock(deps.paths.lock(name), 'vserver gc', () => settle(deps, name, rec, file), 1000));
    } catch (e) {
      out.push(
        isVsError(e, 'BUSY')
          ? { guest: name, removed: [], problems: [], skipped: 'another vserver command is working on it' }
          : { guest: name, removed: [], problems: [e instanceof Error ? e.message : String(e)] },
      );
    }
  }
  return out;
}

async function settle(deps: Deps, name: string, rec: Record, file: string): Promise<GcReport> {
  const rt = await deps.runtime();
  const report: GcReport = { guest: name, removed: [], problems: [] };
  const st = await rt.state(name);
  if (st && rec.phase === 'finishing') {
    // whether the target got as far as running it is known only there: leave it frozen, say what to do
    report.problems.push(
      `a migration to ${rec.dest} died while the target started the guest; it stays frozen here. ` +
        `If it runs there, 'vserver delete --force ${name}' here; if not, 'vserver stop ${name}' and 'vserver start ${name}' here`,
    );
    return report;
  }
  if (st && rec.phase === 'switched') {
    await stopLocked(deps, name, { kill: true });
    report.removed.push(
      `the frozen source of a migration to ${rec.dest} (it runs there; stopped here, 'vserver delete ${name}' removes it)`,
    );
  } else if (st && rec.phase === 'frozen') {
    await rt.resume(name);
    report.removed.push(`the freeze of an interrupted migration to ${rec.dest} (the guest runs here again)`);
  } else report.removed.push(`the record of an interrupted migration to ${rec.dest}`);
  rmSync(file, { force: true });
  return report;
}
