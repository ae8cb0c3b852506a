// Reading a util-vserver guest configuration directory (/etc/vservers/NAME) into plain data for
// the translation: every file with its text, every link with its target, nothing followed.
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { errnoOf, VsError } from '../util/errors.js';

export interface LegacyEntry {
  /** Relative to the configuration directory, '/'-separated. */
  path: string;
  kind: 'file' | 'link' | 'dir' | 'other';
  text?: string;
  target?: string;
}

/** Config files are small; a bigger one is listed but not read. */
const MAX_READ = 1 << 16;

export function readLegacyDir(dir: string): LegacyEntry[] {
  let st;
  try {
    st = lstatSync(dir);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
    throw new VsError(
      'NOT_FOUND',
      `${dir} does not exist`,
      'give the util-vserver configuration directory of the guest, for example /etc/vservers/web1',
    );
  }
  if (!st.isDirectory()) {
    throw new VsError(
      'INVALID_VALUE',
      `${dir} is not a directory`,
      'give the util-vserver configuration directory of the guest, for example /etc/vservers/web1',
    );
  }
  const out: LegacyEntry[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(rel === '' ? dir : join(dir, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const full = join(dir, path);
      const s = lstatSync(full);
      if (s.isSymbolicLink()) out.push({ path, kind: 'link', target: readlinkSync(full) });
      else if (s.isDirectory()) {
        out.push({ path, kind: 'dir' });
        walk(path);
      } else if (s.isFile()) out.push({ path, kind: 'file', ...(s.size <= MAX_READ ? { text: readFileSync(full, 'utf8') } : {}) });
      else out.push({ path, kind: 'other' });
    }
  };
  walk('');
  return out;
}
