// The export format: a zstd stream of three frames, which decompress to one tar stream:
//   vserver-export.json     name and config (first, so that import knows the guest before its tree)
//   rootfs/...              the tree, straight from GNU tar to zstd (owners shifted to 0..65535 by
//                           tar itself, xattrs, hard links, devices), ending with tar's end blocks
//   vserver-manifest.json   every path's type, mode, owners, size, mtime, link, device, sha256 and
//                           hard-link group (read on past tar's end blocks, as tar --ignore-zeros does)
// The tree never passes through this process: the manifest is made by walking the (stopped)
// tree while tar and zstd run, so an export costs what tar | zstd costs, on another core.
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { IdRange } from '../guest/idmap.js';
import * as v from 'valibot';
import { VsError, errnoOf } from '../util/errors.js';
import { lastLines, launch } from '../util/proc.js';
import { checkJson } from '../util/json.js';
import { fdPath, walkTree } from './safe-tree.js';
import { BLOCK, fileMember, parseHeader } from './tar/header.js';
import { TarFilter, type ManifestEntry } from './tar/filter.js';
import { TarPolicyError, TreePolicy } from './tar/policy.js';
import { extractThrough, inputStream, peek, settle, stage, TAR_CREATE_POSIX, tarStream } from './tar/run.js';

export const HEADER_MEMBER = 'vserver-export.json';
export const MANIFEST_MEMBER = 'vserver-manifest.json';
export const FORMAT = 'vserver-export/1';

export interface ExportHeader {
  format: string;
  name: string;
  config: string;
  exported: string;
}

/** The export's first member: which guest, and its config. An export comes from outside: every field is checked. */
const ExportHeaderSchema: v.GenericSchema<ExportHeader> = v.object({
  format: v.literal(FORMAT, `must be "${FORMAT}"`),
  name: v.string(),
  config: v.string(),
  exported: v.string(),
});

const int = v.pipe(v.number(), v.integer(), v.minValue(0));

/** What a round trip keeps of one path; hard links share a group (their first path by name). */
const ManifestRowSchema = v.tuple([v.string(), v.string(), int, int, int, int, v.string(), v.string(), v.string(), v.string(), v.string()]);

export type ManifestRow = [
  path: string,
  type: string,
  mode: number,
  uid: number,
  gid: number,
  size: number,
  mtimeNs: string,
  link: string,
  dev: string,
  sha256: string,
  group: string,
];

export interface Manifest {
  format: string;
  rows: ManifestRow[];
}

const ManifestSchema: v.GenericSchema<Manifest> = v.object({ format: v.string(), rows: v.array(ManifestRowSchema) });

/** tar's own flags for a tree: POSIX format (long names, big ids, xattrs), numbers for owners, a stable order. */
export const TAR_CREATE = [...TAR_CREATE_POSIX, '--one-file-system', '--sort=name', '--pax-option=delete=atime,delete=ctime'];

/** zstd's defaults (level 3, one thread), the same as the benchmark's baseline. */
export const ZSTD_ARGS = ['-q', '-3', '-c'];

/**
 * GNU tar's --owner-map/--group-map text for the host ids a tree uses: ids of the guest's range
 * down to 0..size-1, any other id to nobody (pure). Only the ids present are listed: tar reads
 * the whole map before it starts, and a full range of 65536 lines costs it a fifth of a second.
 */
export function idMapText(r: IdRange, used: Iterable<number>): string {
  const lines: string[] = [];
  for (const id of [...new Set(used)].sort((a, b) => a - b)) {
    const to = id >= r.base && id < r.base + r.size ? id - r.base : 65534;
    if (to !== id) lines.push(`+${id} +${to}\n`);
  }
  return lines.join('');
}

function devOf(rdev: number): string {
  const major = ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xff);
  return `${major},${minor}`;
}

function normPath(p: string): string {
  return p.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/** "1700000000.5" or "1700000000" as nanoseconds (pure). */
export function mtimeNs(t: string): string {
  const [sec, frac = ''] = t.split('.');
  return (BigInt(sec!) * 1_000_000_000n + BigInt((frac + '000000000').slice(0, 9))).toString();
}

/** Hard-link groups named by their first path; a lone path has none (pure). */
function setGroups(rows: Map<string, ManifestRow>, members: Map<string, string[]>): void {
  for (const paths of members.values()) {
    if (paths.length < 2) continue;
    const first = [...paths].sort()[0]!;
    for (const p of paths) rows.get(p)![10] = first;
  }
}

interface Scan {
  rows: Map<string, ManifestRow>;
  /** One path per regular-file inode, whose content is summed. */
  files: Map<string, string[]>;
  strays: Set<number>;
  /** Every host id that owns something in the tree. */
  used: Set<number>;
}

/** Everything but the contents: lstat of every path, as tar will see it (sockets are not archived). */
function scanTree(guestDir: string, ids: IdRange): Scan {
  const rows = new Map<string, ManifestRow>();
  const inodes = new Map<string, string[]>();
  const strays = new Set<number>();
  const used = new Set<number>();
  const rel = (id: number) => {
    used.add(id);
    if (id >= ids.base && id < ids.base + ids.size) return id - ids.base;
    strays.add(id);
    return 65534;
  };
  walkTree(join(guestDir, 'rootfs'), ({ rel: r, dirFd, name }) => {
    const path = r === '' ? 'rootfs' : `rootfs/${r}`;
    const st =
      dirFd === undefined ? lstatSync(join(guestDir, 'rootfs'), { bigint: true }) : lstatSync(fdPath(dirFd, name), { bigint: true });
    const type = st.isDirectory()
      ? 'dir'
      : st.isFile()
        ? 'file'
        : st.isSymbolicLink()
          ? 'symlink'
          : st.isCharacterDevice()
            ? 'char'
            : st.isBlockDevice()
              ? 'block'
              : st.isFIFO()
                ? 'fifo'
                : undefined;
    if (type === undefined) return;
    const link = type === 'symlink' ? readlinkSync(fdPath(dirFd!, name)) : '';
    const dev = type === 'char' || type === 'block' ? devOf(Number(st.rdev)) : '';
    rows.set(path, [
      path,
      type,
      Number(st.mode) & 0o7777,
      rel(Number(st.uid)),
      rel(Number(st.gid)),
      type === 'file' ? Number(st.size) : 0,
      st.mtimeNs.toString(),
      link,
      dev,
      '',
      '',
    ]);
    if (type !== 'dir') {
      const key = `${st.dev}:${st.ino}`;
      inodes.set(key, [...(inodes.get(key) ?? []), path]);
    }
  });
  setGroups(rows, inodes);
  const files = new Map([...inodes].filter(([, paths]) => rows.get(paths[0]!)![1] === 'file'));
  return { rows, files, strays, used };
}

/**
 * Sums every regular file once (the first path of each inode), opening it through its directory's
 * fd without following links, and checking it is the inode the scan saw.
 */
function sumFiles(rootfs: string, scan: Scan): void {
  const first = new Map<string, string[]>();
  for (const [ino, paths] of scan.files) first.set(paths[0]!, [ino, ...paths]);
  const buf = Buffer.allocUnsafe(1 << 20);
  walkTree(rootfs, ({ rel, st, dirFd, name }) => {
    const want = st.isFile() && dirFd !== undefined ? first.get(`rootfs/${rel}`) : undefined;
    if (!want) return;
    const fd = openSync(fdPath(dirFd!, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const now = fstatSync(fd);
      if (`${now.dev}:${now.ino}` !== want[0])
        throw new VsError('INTERNAL', `rootfs/${rel} changed while it was exported`, 'export a stopped guest');
      const h = createHash('sha256');
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        h.update(buf.subarray(0, n));
      }
      const sum = h.digest('hex');
      for (const p of want.slice(1)) scan.rows.get(p)![9] = sum;
    } finally {
      closeSync(fd);
    }
  });
}

/** Writes all of buf to fd, waiting out a non-blocking pipe that is full. */
function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if (errnoOf(e) !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/** One zstd frame of a small member (header, manifest), through the program seam like every program. */
async function zstdFrame(data: Buffer): Promise<Buffer> {
  const { child, exit } = launch('zstd', ZSTD_ARGS);
  const out: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stdin!.on('error', () => undefined); // a zstd that died is reported by its exit below
  child.stdin!.end(data);
  const e = await exit;
  if (e.code !== 0)
    throw new VsError('INTERNAL', `zstd failed (exit ${e.code}): ${lastLines(e.stderr)}`, 'check that zstd works on this host');
  return Buffer.concat(out);
}

/** Streams guestDir/rootfs as an export into fd `out`. */
export async function writeExport(
  guestDir: string,
  header: ExportHeader,
  ids: IdRange,
  out: number,
  scratch: string,
  dest = 'standard output',
): Promise<{ members: number; unmapped: number }> {
  const scan = scanTree(guestDir, ids);
  const map = join(scratch, `idmap-${process.pid}`);
  writeFileSync(map, idMapText(ids, scan.used), { mode: 0o600 });
  try {
    writeAll(out, await zstdFrame(fileMember(HEADER_MEMBER, Buffer.from(JSON.stringify(header)))));
    // 'exit', not 'close': a stage whose stdout went to another has no stream of ours to close
    const tar = stage('tar', ['-C', guestDir, ...TAR_CREATE, `--owner-map=${map}`, `--group-map=${map}`, 'rootfs'], ['ignore', 'pipe'], {
      untilExit: true,
    });
    // tar writes into zstd directly: the tree's bytes never pass through this process
    const zstd = stage('zstd', ZSTD_ARGS, [tar.child.stdout!, out], { untilExit: true });
    tar.child.stdout!.destroy(); // zstd has the pipe now; our end would only keep it open
    const done = Promise.all([tar.done, zstd.done]);
    done.catch(() => undefined);
    sumFiles(join(guestDir, 'rootfs'), scan);
    await settle(
      [done],
      () => {
        tar.child.kill('SIGKILL');
        zstd.child.kill('SIGKILL');
      },
      'the export',
      { where: dest, doing: `writing the export to ${dest}` },
    );
    const rows = [...scan.rows.values()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const manifest: Manifest = { format: FORMAT, rows };
    writeAll(
      out,
      await zstdFrame(Buffer.concat([fileMember(MANIFEST_MEMBER, Buffer.from(JSON.stringify(manifest))), Buffer.alloc(BLOCK * 2)])),
    );
    return { members: rows.length, unmapped: scan.strays.size };
  } finally {
    rmSync(map, { force: true });
  }
}

/** Reads the export's first member (its header) without consuming the stream. */
/** The stream of an export's members after its header, as readExportHeader leaves it. */
export type ExportReader = Awaited<ReturnType<typeof tarStream>>;

export async function readExportHeader(file: string): Promise<{ header: ExportHeader; tar: ExportReader }> {
  const what = file === '-' ? 'the export on standard input' : `export ${file}`;
  const tar = await tarStream(inputStream(file), what);
  const { head, stream } = await peek(tar.stream, 64 * 1024);
  tar.stream = stream;
  const bad = (why: string) => {
    tar.kill();
    return new VsError('INVALID_VALUE', `${what} is not a vserver export: ${why}`, "make one with 'vserver export NAME FILE'");
  };
  if (head.length < BLOCK) throw bad('it is too short');
  let h;
  try {
    h = parseHeader(head.subarray(0, BLOCK));
  } catch {
    throw bad('its first member is unreadable');
  }
  if (h.name !== HEADER_MEMBER || h.size > head.length - BLOCK) throw bad(`it does not start with ${HEADER_MEMBER}`);
  const r = checkJson(ExportHeaderSchema, head.subarray(BLOCK, BLOCK + h.size).toString('utf8'));
  if (!r.ok) throw bad(`${HEADER_MEMBER}: ${r.why}`);
  return { header: r.value, tar };
}

/** The rows of what arrived, from the members in archive order (pure). */
export function rowsOf(entries: readonly ManifestEntry[]): Map<string, ManifestRow> {
  const rows = new Map<string, ManifestRow>();
  const groups = new Map<string, string[]>();
  for (const [p, type, mode, uid, gid, size, mtime, link, dev, sha] of entries) {
    const path = normPath(p);
    if (type === 'hardlink') {
      const target = rows.get(normPath(link));
      if (!target) continue; // the policy lets no such member through
      rows.set(path, [path, target[1], mode, uid, gid, target[5], target[6], target[7], target[8], target[9], '']);
      const key = normPath(link);
      groups.set(key, [...(groups.get(key) ?? [key]), path]);
      continue;
    }
    rows.set(path, [path, type, mode, uid, gid, size, mtimeNs(mtime), type === 'symlink' ? link : '', dev, sha, '']);
  }
  setGroups(rows, groups);
  return rows;
}

/**
 * Extracts the tree of an export into dir (owned by `ids`) and checks every path against the
 * manifest. Throws CHECKSUM_MISMATCH at the first difference.
 */
export async function extractExport(dir: string, tar: ExportReader, ids: IdRange, what: string): Promise<number> {
  let manifest: Manifest | undefined;
  const filter = new TarFilter({
    policy: new TreePolicy('rootfs', { anyLinkTarget: true }),
    inputIsGuest: true,
    ignoreZeros: true,
    maxCapture: 1 << 30,
    mapId: (id, kind, path) => {
      if (id >= ids.size) throw new TarPolicyError(`${JSON.stringify(path)} is owned by ${kind} ${id}, outside a guest's ids`);
      return id + ids.base;
    },
    route: (m) => {
      if (m.path === HEADER_MEMBER) return 'drop';
      if (m.path === MANIFEST_MEMBER) return 'capture';
      if (manifest !== undefined) throw new TarPolicyError(`member ${JSON.stringify(m.path)} follows the manifest`);
      if (m.path === 'rootfs' || m.path === 'rootfs/' || m.path.startsWith('rootfs/')) return 'forward';
      throw new TarPolicyError(`member ${JSON.stringify(m.path)} is not part of a guest export`);
    },
    onCapture: (_m, data) => {
      const r = checkJson(ManifestSchema, data.toString('utf8'));
      if (!r.ok)
        throw new VsError('CHECKSUM_MISMATCH', `${what}: the manifest is damaged: ${r.why}`, 'the file is damaged; export the guest again');
      manifest = r.value;
    },
  });
  await extractThrough(dir, tar, filter, what);
  if (!manifest) {
    throw new VsError('CHECKSUM_MISMATCH', `${what} has no manifest at its end (is it truncated?)`, 'export the guest again');
  }
  const got = rowsOf(filter.manifest);
  compareManifest(new Map(manifest.rows.map((r) => [r[0], r])), got, what);
  return got.size;
}

const FIELDS = ['path', 'type', 'mode', 'uid', 'gid', 'size', 'mtime', 'link', 'device', 'sha256', 'hard links'];

/** The first difference between what the manifest promises and what arrived (pure). */
export function compareManifest(want: ReadonlyMap<string, ManifestRow>, got: ReadonlyMap<string, ManifestRow>, what: string): void {
  for (const [path, w] of want) {
    const g = got.get(path);
    if (!g) {
      throw new VsError(
        'CHECKSUM_MISMATCH',
        `${what}: ${path} is in the manifest but not in the archive`,
        'the file is damaged or was changed; export the guest again',
      );
    }
    for (let f = 1; f < FIELDS.length; f++) {
      if (JSON.stringify(w[f]) !== JSON.stringify(g[f])) {
        throw new VsError(
          'CHECKSUM_MISMATCH',
          `${what}: ${path} differs from the manifest (${FIELDS[f]})`,
          'the file is damaged or was changed; export the guest again',
        );
      }
    }
  }
  for (const path of got.keys()) {
    if (!want.has(path)) {
      throw new VsError(
        'CHECKSUM_MISMATCH',
        `${what}: ${path} is in the archive but not in the manifest`,
        'the file is damaged or was changed; export the guest again',
      );
    }
  }
}
