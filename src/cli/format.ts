// Text formats shared by the listing verbs.

/** Uptime as util-vserver's vserver-stat prints it: MmSSsMS, HhMMmSS or DdHHhMM. */
export function formatDuration(seconds: number, millis = 0): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d${two(h)}h${two(m)}`;
  if (h > 0) return `${h}h${two(m)}m${two(sec)}`;
  return `${m}m${two(sec)}s${two(Math.floor(millis / 10))}`;
}

/** Left-aligned columns separated by two spaces; numbers right-aligned. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  return (
    cells
      .map((r) =>
        r
          .map((c, i) => {
            const last = i === r.length - 1;
            if (numeric[i]) return c.padStart(widths[i]!);
            return last ? c : c.padEnd(widths[i]!);
          })
          .join('  '),
      )
      .join('\n') + '\n'
  );
}
