// Runs every benchmark under bench/ in turn (not part of the tests; timings never gate CI).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const only = process.argv.slice(2);
const files = readdirSync(new URL('../bench/', import.meta.url))
  .filter((f) => f.endsWith('.mjs') && f !== 'lib.mjs')
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)));
let failed = 0;
for (const f of files) {
  console.log(`== bench/${f}`);
  const r = spawnSync(process.execPath, [new URL(`../bench/${f}`, import.meta.url).pathname], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
