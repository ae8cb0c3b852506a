// Where in the TOML text a validation error belongs: the line the API names, else the line that
// sets the key it names (a dotted key within its [table]).

export function errorLine(text: string, err: { line?: number; key?: string }): number | undefined {
  const lines = text.split('\n');
  if (err.line !== undefined && err.line >= 1 && err.line <= lines.length) return err.line;
  if (err.key === undefined) return undefined;
  const parts = err.key.split('.');
  // try the longest table prefix first: limits.memory.max may be [limits] memory.max = or [limits.memory] max =
  for (let cut = parts.length - 1; cut >= 0; cut--) {
    const table = parts.slice(0, cut).join('.');
    const rest = parts.slice(cut).join('.');
    let current = '';
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!.trim();
      const header = /^\[\s*([^\]\s]+)\s*\]/.exec(l);
      if (header) {
        current = header[1]!;
        continue;
      }
      const m = /^("?)([A-Za-z0-9_.-]+)\1\s*=/.exec(l);
      if (m && current === table && m[2] === rest) return i + 1;
    }
  }
  return undefined;
}

/** The editor's text split into lines, each with the error message when it is the erring line. */
export function annotate(text: string, lineNo: number | undefined, message: string): { n: number; text: string; error?: string }[] {
  return text.split('\n').map((t, i) => (i + 1 === lineNo ? { n: i + 1, text: t, error: message } : { n: i + 1, text: t }));
}
