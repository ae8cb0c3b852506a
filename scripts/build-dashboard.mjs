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
    entryPoints: ['src/dashboard/main.tsx'], outdir, bundle: true, format: 'esm', platform: 'browser', target: 'es2022',
    minify: true, legalComments: 'none', entryNames: '[name]-[hash]', metafile: true, logLevel: 'warning',
    jsx: 'automatic', jsxImportSource: 'preact', tsconfig: 'src/dashboard/tsconfig.json',
  });
  const outputs = Object.keys(r.metafile.outputs).map((f) => basename(f));
  const script = outputs.find((f) => f.endsWith('.js'));
  const style = outputs.find((f) => f.endsWith('.css'));
  const html = readFileSync('src/dashboard/index.html', 'utf8').replace('SCRIPT', script).replace('STYLE', style);
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
