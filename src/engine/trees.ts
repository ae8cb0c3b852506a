// The trees of guests and templates, each checked to be a real directory (no link followed) by
// every step that reads or mounts it: an imported or guest-made link must not stand in for one.
import { join } from 'node:path';
import { requireRealDir } from '../util/fs.js';
import type { Deps } from './deps.js';

type Part = 'rootfs' | 'upper' | 'work';

/** guests/NAME/PART (default rootfs), after checking it and guests/NAME. */
export function guestTree(deps: Deps, name: string, part: Part = 'rootfs'): string {
  const hint = `restore guest '${name}''s ${part} as a directory, or delete the guest with 'vserver delete ${name}'`;
  requireRealDir(deps.paths.guestDir(name), `guest '${name}''s directory`, hint);
  const path = join(deps.paths.guestDir(name), part);
  requireRealDir(path, `guest '${name}''s ${part}`, hint);
  return path;
}

/** templates/NAME/rootfs, after checking it and templates/NAME. */
export function templateTree(deps: Deps, name: string): string {
  const hint = `template '${name}' is damaged: delete it with 'vserver template delete ${name}' and make it again`;
  requireRealDir(deps.paths.template(name), `template '${name}''s directory`, hint);
  requireRealDir(deps.paths.templateRootfs(name), `template '${name}''s rootfs`, hint);
  return deps.paths.templateRootfs(name);
}
