// vps's trick: take ps's own output and put a CONTEXT column right after its PID column; no I/O here.
import { VsError } from '../util/errors.js';

export interface Owner {
  context: number;
  /** The guest's name, or MAIN for the host. */
  name: string;
}

export const HOST_OWNER: Owner = { context: 0, name: 'MAIN' };

export interface PsRow {
  pid: number;
  context: number;
  name: string;
  /** The line as ps printed it, with the CONTEXT column added. */
  line: string;
  /** ps's columns by header; the last one keeps its spaces (it is the command). */
  fields: Record<string, string>;
}

export interface PsTable {
  header: string;
  rows: PsRow[];
}

/** Where the PID column ends in ps's header (ps right-aligns numbers under their heading). */
function pidColumn(header: string): { end: number; index: number } | undefined {
  const m = /(^|\s)(PID)(?=\s|$)/.exec(header);
  if (!m) return undefined;
  const end = m.index + m[1]!.length + 3;
  return { end, index: header.slice(0, end).trim().split(/\s+/).length - 1 };
}

/** The PID of a line and where its field ends: by position first, by field count when a wide column shifted it. */
function findPid(line: string, col: { end: number; index: number }): { pid: number; end: number } | undefined {
  const m = /(\d+)$/.exec(line.slice(0, col.end));
  if (m && (col.end >= line.length || /\s/.test(line[col.end]!))) return { pid: Number(m[1]), end: col.end };
  const re = /\S+/g;
  let t: RegExpExecArray | null;
  for (let i = 0; (t = re.exec(line)) !== null; i++) {
    if (i === col.index) return /^\d+$/.test(t[0]) ? { pid: Number(t[0]), end: t.index + t[0].length } : undefined;
  }
  return undefined;
}

function splitFields(names: string[], line: string): Record<string, string> {
  const parts = line.trim().split(/\s+/);
  const out: Record<string, string> = {};
  names.forEach((n, i) => {
    out[n] = i === names.length - 1 ? parts.slice(i).join(' ') : (parts[i] ?? '');
  });
  return out;
}

/** Adds the CONTEXT column ("100 web1", "0 MAIN") to ps output; owner() says whose a PID is. */
export function addContextColumn(psOutput: string, owner: (pid: number) => Owner): PsTable {
  const lines = psOutput.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0] ?? '';
  const col = pidColumn(header);
  if (!col) {
    throw new VsError(
      'USAGE',
      'the ps options given print no PID column, so there is nothing to add the CONTEXT to',
      'include the pid, for example: vserver ps -o pid,user,args',
    );
  }
  const names = header.trim().split(/\s+/);
  const parsed = lines.slice(1).map((line) => ({ line, at: findPid(line, col) }));
  const label = (o: Owner) => `${o.context} ${o.name}`;
  const owners = parsed.map((p) => (p.at ? owner(p.at.pid) : HOST_OWNER));
  const width = Math.max('CONTEXT'.length, ...owners.map((o) => label(o).length));
  const rows: PsRow[] = [];
  parsed.forEach(({ line, at }, i) => {
    if (!at) return; // not a process line
    const o = owners[i]!;
    rows.push({
      pid: at.pid,
      context: o.context,
      name: o.name,
      line: `${line.slice(0, at.end)} ${label(o).padEnd(width)}${line.slice(at.end)}`,
      fields: splitFields(names, line),
    });
  });
  return { header: `${header.slice(0, col.end)} ${'CONTEXT'.padEnd(width)}${header.slice(col.end)}`, rows };
}
