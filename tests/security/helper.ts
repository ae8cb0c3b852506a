// The escape helper: the one `npm run build` puts in dist/, as the package ships it; compiled here
// only where the build had no C compiler.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bundledHelper } from '../../src/security/escape-attempts.js';

export { installHelper } from '../../src/security/escape-attempts.js';

/** dist/escape, else escape.c compiled with gcc -static into dir (gcc and libc6-dev are installed by .ci/run). */
export function buildEscapeHelper(dir: string): string {
  const built = bundledHelper(join(__dirname, '../../dist'));
  if (built) return built;
  const out = join(dir, 'escape-helper');
  if (!existsSync(out))
    execFileSync('gcc', ['-static', '-O2', '-Wall', '-o', out, join(__dirname, '../../src/security/escape.c')], { stdio: 'pipe' });
  return out;
}
