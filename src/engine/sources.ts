// Filling a fresh directory with a system tree, from each kind of source, owned by a given id range.
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { HostConfig, InitStyle } from '../guest/schema.js';
import { IDS_PER_GUEST, type IdRange } from '../guest/idmap.js';
import { copyTree } from '../storage/copy.js';
import { prepareDebian } from '../storage/debian.js';
import { plainTree } from '../storage/tree-io.js';
import { debootstrap, initPackages } from '../storage/debootstrap.js';
import type { Progress } from '../util/progress.js';
import { shiftOwnership } from '../storage/shift.js';
import { TarFilter } from '../storage/tar/filter.js';
import { TreePolicy } from '../storage/tar/policy.js';
import { extractThrough, inputStream, tarStream } from '../storage/tar/run.js';
import { VsError, errnoOf } from '../util/errors.js';
import type { Paths } from '../util/paths.js';

export const HOST_IDS: IdRange = { base: 0, size: IDS_PER_GUEST };

/** Maps guest-relative ids into a range; ids a guest cannot have are refused. */
export function shiftInto(to: IdRange): (id: number, kind: 'uid' | 'gid', path: string) => number {
  return (id, kind, path) => {
    if (id >= to.size) {
      throw new VsError(
        'INVALID_VALUE',
        `${JSON.stringify(path)} is owned by ${kind} ${id}, outside the ${to.size} ids a guest has`,
        'a guest tree uses ids 0..65535; fix the owners in the archive',
      );
    }
    return id + to.base;
  };
}

/** Extracts a tar, tar.gz, tar.xz or tar.zst file into rootfs (fresh, empty), owned by `ids`. */
export async function fromTarball(file: string, rootfs: string, ids: IdRange, stream?: Readable, signal?: AbortSignal): Promise<void> {
  if (stream === undefined) {
    let st;
    try {
      st = statSync(file);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') throw new VsError('NOT_FOUND', `tarball ${file} not found`, 'check the path');
      throw e;
    }
    if (!st.isFile()) throw new VsError('INVALID_VALUE', `${file} is not a regular file`, 'give a .tar, .tar.gz, .tar.xz or .tar.zst file');
  }
  chownSync(rootfs, ids.base, ids.base);
  const input = stream ?? inputStream(file);
  // an abort breaks the input, which makes every stage of the extraction stop and fail
  const onAbort = () => input.destroy(new VsError('CANCELLED', `the build from ${file} was cancelled`));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    const src = await tarStream(input, `tarball ${file}`);
    const filter = new TarFilter({ policy: new TreePolicy(), mapId: shiftInto(ids), inputIsGuest: true });
    await extractThrough(rootfs, src, filter, `tarball ${file}`);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

export interface DebootstrapSource {
  suite: string;
  mirror?: string;
  variant?: string;
  include?: string[];
}

export function debootstrapCache(paths: Paths, host: HostConfig): string {
  return host.debootstrap_cache ?? paths.debootstrapCache;
}

/** Runs debootstrap into rootfs and makes the tree guest-ready, then owned by `ids`. */
export async function fromDebootstrap(
  paths: Paths,
  host: HostConfig,
  src: DebootstrapSource,
  rootfs: string,
  ids: IdRange,
  inits: InitStyle[],
  onProgress?: (p: Progress) => void,
  signal?: AbortSignal,
): Promise<void> {
  const include = [...new Set([...inits.flatMap(initPackages), ...(src.include ?? [])])];
  // both inits in one tree: sysvinit-core is /sbin/init, systemd is started by its own path
  if (include.includes('sysvinit-core') && include.includes('systemd-sysv')) include.splice(include.indexOf('systemd-sysv'), 1, 'systemd');
  await debootstrap(rootfs, {
    suite: src.suite,
    mirror: src.mirror ?? host.mirror,
    variant: src.variant,
    include,
    cacheDir: debootstrapCache(paths, host),
    onProgress,
    signal,
  });
  // packages debootstrap downloaded stay in the cache, not in every guest
  const archives = join(rootfs, 'var/cache/apt/archives');
  if (existsSync(archives)) for (const f of readdirSync(archives)) if (f.endsWith('.deb')) unlinkSync(join(archives, f));
  prepareDebian(plainTree(rootfs), { uid: 0, gid: 0 });
  shiftOwnership(rootfs, HOST_IDS, ids);
}

/** A copy of another tree (template or guest), moved from its id range to `ids`. */
export async function fromTree(src: string, rootfs: string, from: IdRange, ids: IdRange): Promise<void> {
  await copyTree(src, rootfs);
  shiftOwnership(rootfs, from, ids);
}

/** The directories of an overlay guest: upper owned by the shared range's root, like the template's root. */
export function makeOverlayDirs(dir: string, ids: IdRange, lowerRoot: string): void {
  const mode = statSync(lowerRoot).mode & 0o7777;
  for (const d of ['upper', 'work', 'rootfs']) mkdirSync(join(dir, d), { mode: 0o700 });
  chownSync(join(dir, 'upper'), ids.base, ids.base);
  chmodSync(join(dir, 'upper'), mode);
  chmodSync(join(dir, 'rootfs'), 0o755);
}
