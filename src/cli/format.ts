// Text formats shared by the listing verbs.

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
