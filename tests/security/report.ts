// The escape suite's closing table: each attempt's result in the guest, and which protection, taken
// out alone in a control run, let it through (the measured cause of the refusal).
type Lines = Map<string, string>;

export interface ReportRow {
  name: string;
  mode: string;
  key: string;
  skipped?: string | undefined;
}

function short(line: string | undefined): string {
  if (line === undefined) return 'not run';
  const m = /^(BLOCKED|ESCAPED) (\S+)/.exec(line);
  if (!m) return line;
  return m[1] === 'BLOCKED' ? `blocked (${m[2]})` : 'ESCAPED';
}

/** Attempts whose refusal no control can take apart: the helper's own words say where it stopped. */
const DETAILED = new Set(['exe']);

/**
 * What the controls say about one attempt: the protections whose removal alone lets it through,
 * else the protections that refuse it when each is the only one left.
 */
export function measuredCause(controls: Map<string, Lines> | undefined, key: string): string {
  if (!controls || controls.size === 0) return 'not measured';
  const all = controls.get('all')?.get(key);
  if (!all?.startsWith('ESCAPED')) return `control did not get through (${short(all)})`;
  const runs = [...controls].filter(([label, l]) => label !== 'all' && l.has(key));
  if (runs.length === 0) return 'measured with everything removed only';
  const through = (l: Lines) => l.get(key)!.startsWith('ESCAPED');
  const alone = runs.filter(([label, l]) => !label.startsWith('only ') && through(l)).map(([label]) => label);
  if (alone.length > 0) return `removing ${alone.join(' | ')}`;
  const holds = runs.filter(([label, l]) => label.startsWith('only ') && !through(l)).map(([label]) => label.slice(5));
  return holds.length > 0 ? `none alone; each of these refuses it: ${holds.join(', ')}` : 'none alone, and none holds alone';
}

export function table(rows: ReportRow[], guest: Map<string, Lines>, controls: Map<string, Map<string, Lines>>): string {
  const head = ['attempt', 'mode', 'in the guest', 'measured cause (controls)'];
  const body = rows.map((r) => {
    if (r.skipped) return [r.name, r.mode, 'skipped', r.skipped];
    const line = guest.get(r.mode)?.get(r.key);
    const cause =
      DETAILED.has(r.key) && line?.startsWith('BLOCKED')
        ? `stopped at: ${line.replace(/^BLOCKED \S+ /, '')}`
        : measuredCause(controls.get(r.mode), r.key);
    return [r.name, r.mode, short(line), cause];
  });
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [
    '',
    ...[head, ...body].map((r) =>
      r
        .map((c, i) => c.padEnd(w[i]!))
        .join('  ')
        .trimEnd(),
    ),
  ].join('\n');
}
