// The static helpers `npm run build` puts beside the bundles in dist/.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { VsError } from '../util/errors.js';

/** dist/NAME beside the bundle, or (running from the sources) in the checkout's dist/. */
export function helperPath(name: 'guest-watch' | 'pty-relay' | 'idmap-run' | 'spawn-slot' | 'exec-shim', dir = __dirname): string {
  for (const p of [join(dir, name), join(dir, '../../dist', name)]) if (existsSync(p)) return p;
  throw new VsError(
    'DEPENDENCY_MISSING',
    `this vserver was built without its ${name} helper (dist/${name})`,
    'install a C compiler (apt-get install gcc libc6-dev) and run npm run build',
  );
}
