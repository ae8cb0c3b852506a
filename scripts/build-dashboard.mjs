// Bundles the dashboard (src/dashboard/) for the browser: content-hashed script and stylesheet, the
// page that names them, and a gzip copy of each that vserverd sends to browsers that take it.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** The budget for all JavaScript, compressed (issue: the first page must stay fast). */
const JS_GZIP_BUDGET = 200 * 1024;

export async function buildDashboard(outdir) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const r = await build({
    entryPoints: ['src/dashboard/main.tsx'],
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    metafile: true,
    logLevel: 'warning',
    // the console's terminal is loaded when a console opens, not with the first page
    splitting: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: 'src/dashboard/tsconfig.json',
  });
  const outputs = Object.keys(r.metafile.outputs).map((f) => basename(f));
  const [entry, out] = Object.entries(r.metafile.outputs).find(([f, o]) => f.endsWith('.js') && o.entryPoint);
  const script = basename(entry);
  // the chunks the entry imports at once are fetched beside it, not after it
  const preload = out.imports
    .filter((i) => i.kind === 'import-statement')
    .map((i) => `<link rel="modulepreload" href="${basename(i.path)}">\n`)
    .join('');
  const style = outputs.find((f) => f.endsWith('.css'));
  const html = readFileSync('src/dashboard/index.html', 'utf8')
    .replace('SCRIPT', script)
    .replace('STYLE', style)
    .replace('<!-- PRELOAD -->\n', preload);
  writeFileSync(join(outdir, 'index.html'), html);
  let jsGzip = 0;
  for (const f of [...outputs, 'index.html']) {
    const gz = gzipSync(readFileSync(join(outdir, f)), { level: 9 });
    writeFileSync(join(outdir, `${f}.gz`), gz);
    if (f.endsWith('.js')) jsGzip += gz.length;
  }
  if (jsGzip > JS_GZIP_BUDGET) throw new Error(`dashboard JavaScript is ${jsGzip} bytes gzipped, over the budget of ${JS_GZIP_BUDGET}`);
  return { script, style, jsGzip };
}
