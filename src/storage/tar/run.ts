// Moving tar streams between files, GNU tar and the compressors, all tied to our lifetime.
import type { ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VsError, errnoOf } from '../../util/errors.js';
import { noSpaceError } from '../../util/space.js';
import { lastLines, launch, tied, type Exit, type LaunchOptions } from '../../util/proc.js';
import type { TarFilter } from './filter.js';
import { TarPolicyError } from './policy.js';
import { TarFormatError } from './header.js';

export type Compression = 'zstd' | 'gzip' | 'xz' | 'bzip2' | 'none';

/** What the first bytes say the stream is (pure). */
export function detectCompression(head: Buffer): Compression | undefined {
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.length >= 263 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'none';
  return undefined;
}

const DECOMPRESS: Record<Exclude<Compression, 'none'>, [string, string[]]> = {
  zstd: ['zstd', ['-dcq']],
  gzip: ['gzip', ['-dc']],
  xz: ['xz', ['-dc']],
  bzip2: ['bzip2', ['-dc']],
};

/** A child process whose failure carries its own last words. */
export interface Stage {
  child: ChildProcess;
  done: Promise<void>;
}

/** stdin and stdout of a stage, then what it gets as fd 3, 4, ... (its stderr is always ours to read). */
export type StageIo = 'pipe' | 'ignore' | 'inherit' | number | Readable;

export function stage(file: string, args: string[], stdio: StageIo[], opts: Pick<LaunchOptions, 'untilExit'> = {}): Stage {
  const [cmd, argv] = tied(file, args);
  const { child, exit } = launch(cmd, argv, {
    ...opts,
    stdio: [stdio[0]!, stdio[1]!, 'pipe', ...stdio.slice(2)],
    stderrChunks: 64,
    missing: () =>
      new VsError(
        'DEPENDENCY_MISSING',
        `cannot run ${file}: setpriv or ${file} is not installed`,
        `install it (apt-get install ${file === 'tar' ? 'tar' : file} util-linux)`,
      ),
  });
  return { child, done: succeeded(exit, file) };
}

/** Resolves when the stage exited 0; else rejects with its last words. */
function succeeded(exit: Promise<Exit>, program: string): Promise<void> {
  const done = exit.then(({ code, signal, stderr }) => {
    if (code === 0) return;
    const text = lastLines(stderr).replace(/\S{240,}/g, (long) => `${long.slice(0, 100)}...${long.slice(-100)}`); // a path deeper than PATH_MAX, shortened
    throw new StageError(program, text || `killed by ${signal ?? `exit ${code}`}`);
  });
  done.catch(() => undefined); // observed by whoever awaits it
  return done;
}

export class StageError extends Error {
  constructor(
    readonly program: string,
    readonly detail: string,
  ) {
    super(`${program}: ${detail}`);
  }
}

/** Reads the first bytes of a stream and gives back a stream that still starts with them. */
export async function peek(src: Readable, want = 512): Promise<{ head: Buffer; stream: Readable }> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const got: Buffer[] = [];
  let n = 0;
  let finished = false;
  while (n < want) {
    const r = await it.next();
    if (r.done) {
      finished = true;
      break;
    }
    got.push(r.value);
    n += r.value.length;
  }
  const head = Buffer.concat(got);
  const stream = Readable.from(
    (async function* () {
      if (head.length > 0) yield head;
      if (finished) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    })(),
    { objectMode: false },
  );
  return { head, stream };
}

export function inputStream(file: string): Readable {
  return file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 });
}

/** The uncompressed tar stream of a (possibly compressed) source, with the decompressor's outcome. */
export async function tarStream(src: Readable, what: string): Promise<{ stream: Readable; done: Promise<void>; kill: () => void }> {
  const { head, stream } = await peek(src);
  const kind = detectCompression(head);
  if (kind === undefined) {
    throw new VsError(
      'INVALID_VALUE',
      `${what} is not a tar archive (nor a gzip, xz or zstd compressed one)`,
      'give a .tar, .tar.gz, .tar.xz or .tar.zst file',
    );
  }
  if (kind === 'none') return { stream, done: Promise.resolve(), kill: () => undefined };
  const [file, args] = DECOMPRESS[kind];
  const s = stage(file, args, ['pipe', 'pipe']);
  const fed = pipeline(stream, s.child.stdin!).catch(() => undefined);
  // a killed decompressor's output may sit unread in its pipe: drop it, or the child never 'close's
  const kill = () => {
    s.child.kill('SIGKILL');
    s.child.stdout!.destroy();
  };
  const done = Promise.all([s.done, fed]).then(() => undefined);
  done.catch(() => undefined); // observed by whoever awaits it; a stream given up on is not an error
  return { stream: s.child.stdout!, done, kill };
}

/** GNU tar writing a tree to stdout: POSIX format (long names, big ids, xattrs), numbers for owners. */
export const TAR_CREATE_POSIX = ['--create', '--file=-', '--format=posix', '--numeric-owner', '--xattrs', '--xattrs-include=*'];

export const TAR_EXTRACT = ['-x', '--numeric-owner', '--same-owner', '--same-permissions', '--xattrs', '--xattrs-include=*', '-f', '-'];

/**
 * Extracts the filtered stream into dir with GNU tar. Any failure (the archive, the filter's
 * checks, tar itself, a full disk) kills every stage and rejects with one clear error.
 */
export async function extractThrough(
  dir: string,
  src: { stream: Readable; done: Promise<void>; kill: () => void },
  filter: TarFilter,
  what: string,
): Promise<void> {
  const tar = stage('tar', ['-C', dir, ...TAR_EXTRACT], ['pipe', 'ignore']);
  await settle(
    [pipeline(src.stream, filter, tar.child.stdin! as Writable), tar.done, src.done],
    () => {
      src.kill();
      tar.child.kill('SIGKILL');
    },
    what,
    extracting(what, dir),
  );
}

/**
 * Waits for every part of a pipeline; at the first failure the others are killed, and the error
 * reported is the most telling one (our checks, then a program's own words, then a broken pipe).
 */
/** Where a tar pipeline writes, and what it does there, for the message when the disk is full. */
export interface Writing {
  where: string;
  doing: string;
}

/** What extracting `what` into dir is, for the full-disk message. */
export function extracting(what: string, dir: string): Writing {
  return { where: dir, doing: `extracting ${what} into ${dir} (nothing was kept)` };
}

export async function settle(parts: Promise<unknown>[], killAll: () => void, what: string, writing?: Writing): Promise<void> {
  let killed = false;
  const watched = parts.map((p) =>
    p.catch((e: unknown) => {
      if (!killed) {
        killed = true;
        killAll();
      }
      throw e;
    }),
  );
  const results = await Promise.allSettled(watched);
  const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  if (errors.length === 0) return;
  const rank = (e: unknown) =>
    e instanceof VsError || e instanceof TarPolicyError || e instanceof TarFormatError
      ? 0
      : e instanceof StageError && /No space left/i.test(e.detail)
        ? 1
        : e instanceof StageError && !/Broken pipe|killed by SIGKILL/.test(e.detail)
          ? 2
          : 3;
  errors.sort((a, b) => rank(a) - rank(b));
  throw explain(errors[0], what, writing);
}

/** Turns what failed in a tar pipeline into a message that says what is wrong with what. */
export function explain(e: unknown, what: string, writing?: Writing): VsError {
  if (e instanceof VsError) return e;
  if (e instanceof TarPolicyError) {
    return new VsError('INVALID_VALUE', `${what} is unsafe: ${e.message}`, 'nothing was written; fix the archive or use another one');
  }
  if (e instanceof TarFormatError) {
    return new VsError('INVALID_VALUE', `${what} is corrupt: ${e.message}`, 'nothing was kept; check the file (download it again?)');
  }
  const text = e instanceof Error ? e.message : String(e);
  if (/No space left on device|ENOSPC/i.test(text)) {
    if (writing) return noSpaceError(e, writing.where, writing.doing);
    return new VsError('BUILD_FAILED', `no space left on device while writing ${what}`, 'nothing was kept; free some space and try again');
  }
  if (e instanceof StageError && e.program !== 'tar') {
    return new VsError(
      'INVALID_VALUE',
      `${what} is corrupt or truncated (${e.detail})`,
      'nothing was kept; check the file (download it again?)',
    );
  }
  if (errnoOf(e) === 'ENOENT') {
    return new VsError('NOT_FOUND', `${what} not found`, 'check the path');
  }
  return new VsError('BUILD_FAILED', `${what}: ${text}`, 'nothing was kept; fix the cause and try again', { cause: e });
}
