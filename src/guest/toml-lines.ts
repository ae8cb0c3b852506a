// Where a key sits in TOML text, so that an error can point at the line to fix.

type Path = readonly (string | number)[];

/** "a.b", "a . 'b.c'" -> ['a', 'b'], ['a', 'b.c']: dotted keys with bare or quoted parts. */
function splitKey(s: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < s.length && (m = re.exec(s)) !== null) {
    out.push(m[1] ?? m[2] ?? m[3]!);
    if (m[4] === '') break;
  }
  return out;
}

/** How many leading parts two paths share. */
function common(a: Path, b: Path): number {
  let i = 0;
  while (i < a.length && i < b.length && String(a[i]) === String(b[i])) i++;
  return i;
}

/**
 * The 1-based line of the key at `path` (numbers index arrays of tables), or of the nearest line
 * that holds it (its table, or an inline table or array); undefined when nothing in the text does.
 */
export function keyLine(text: string, path: Path): number | undefined {
  let table: Path = [];
  const arrays = new Map<string, number>();
  let best: { line: number; depth: number } | undefined;
  const consider = (full: Path, line: number) => {
    const n = common(full, path);
    // a line counts when its key is the wanted one or contains it
    if (n < full.length || n === 0) return;
    if (!best || n > best.depth) best = { line, depth: n };
  };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (l === '' || l.startsWith('#')) continue;
    const header = /^(\[\[?)([^\]]+)\]/.exec(l);
    if (header) {
      const parts = splitKey(header[2]!);
      if (header[1] === '[[') {
        const k = parts.join('.');
        const index = (arrays.get(k) ?? -1) + 1;
        arrays.set(k, index);
        table = [...parts, index];
      } else {
        table = parts;
      }
      consider(table, i + 1);
      continue;
    }
    // a key is what stands before the first '=' (a quoted key holding '=' is rare enough to miss)
    const eq = l.indexOf('=');
    if (eq > 0) consider([...table, ...splitKey(l.slice(0, eq))], i + 1);
  }
  return best?.line;
}
