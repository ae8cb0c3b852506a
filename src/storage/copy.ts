// Copying a whole tree: owners, modes, xattrs, hard links, device nodes and links as they are
// (cp -a never follows a symlink in the source); shares blocks where the filesystem can.
// cp works with whole paths, so a tree deeper than PATH_MAX is copied in pieces instead: each
// piece is a subtree whose paths stay short, passed as open directories to a tar pipeline.
import { closeSync, fstatSync, mkdirSync, utimesSync } from 'node:fs';
import { VsError } from '../util/errors.js';
import { noSpaceError } from '../util/space.js';
import { lstatIfExists } from '../util/fs.js';
import { lastLines, run, tied } from '../util/proc.js';
import { fdPath, openDirIn, walkTree } from './safe-tree.js';
import { settle, stage, TAR_CREATE_POSIX, TAR_EXTRACT } from './tar/run.js';

/** Longest path inside one piece; a file's name may add 256 more, still below PATH_MAX (4096). */
const PIECE_PATH = 3000;

function copyFailed(src: string, dst: string, text: string): VsError {
  if (/No space left on device/.test(text)) return noSpaceError(undefined, dst, `copying ${src} to ${dst} (nothing was kept)`);
  return new VsError('BUILD_FAILED', `copying ${src} failed: ${text}`, 'nothing was kept; fix the cause and try again');
}

/** reflink 'always' fails rather than copy blocks (snapshots say which method they used). */
export async function copyTree(src: string, dst: string, reflink: 'auto' | 'always' = 'auto'): Promise<void> {
  const pieces = splitDeep(src);
  if (pieces.length > 1) return copyPieces(src, dst, pieces);
  const [cmd, args] = tied('cp', ['-a', `--reflink=${reflink}`, '--no-target-directory', '--one-file-system', src, dst]);
  const r = await run(cmd, args);
  if (r.code !== 0) throw copyFailed(src, dst, lastLines(r.stderr, 2));
}

export interface Piece {
  /** The piece's top directory, relative to the tree ('' for the tree itself). */
  top: string;
  /** Its entries relative to top ('.' first); subtrees that are pieces of their own are left out. */
  entries: string[];
}

/** Cuts the tree into pieces whose paths stay below PIECE_PATH; one piece for any usual tree. */
export function splitDeep(root: string, limit = PIECE_PATH): Piece[] {
  const pieces: Piece[] = [{ top: '', entries: ['.'] }];
  const open: Piece[] = [pieces[0]!];
  walkTree(root, ({ rel, st }) => {
    if (rel === '') return;
    while (open.length > 1 && !rel.startsWith(`${open[open.length - 1]!.top}/`)) open.pop();
    const piece = open[open.length - 1]!;
    const inner = piece.top === '' ? rel : rel.slice(piece.top.length + 1);
    if (st.isDirectory() && inner.length > limit) {
      const next: Piece = { top: rel, entries: ['.'] };
      pieces.push(next);
      open.push(next);
    } else piece.entries.push(inner);
  });
  return pieces;
}

const TAR_COPY_OUT = [...TAR_CREATE_POSIX, '--no-recursion', '--null', '--files-from=-'];

/** Copies piece by piece, parents first; each tar gets its directories as open fds (fd 3). */
async function copyPieces(src: string, dst: string, pieces: Piece[]): Promise<void> {
  if (!lstatIfExists(dst)) mkdirSync(dst, { mode: 0o700 }); // tar sets its owner, mode and times from the source
  for (const p of pieces) {
    if (p.top !== '') makeTop(src, dst, p.top);
    const from = openDirIn(src, p.top);
    const to = openDirIn(dst, p.top);
    try {
      const out = stage('tar', ['-C', '/proc/self/fd/3', ...TAR_COPY_OUT], ['pipe', 'pipe', from]);
      const into = stage('tar', ['-C', '/proc/self/fd/3', ...TAR_EXTRACT], [out.child.stdout!, 'ignore', to]);
      out.child.stdout!.destroy(); // the second tar has the pipe now
      out.child.stdin!.end(Buffer.from(p.entries.map((e) => `${e}\0`).join('')));
      await settle(
        [out.done, into.done],
        () => {
          out.child.kill('SIGKILL');
          into.child.kill('SIGKILL');
        },
        `copying ${src}`,
      ).catch((e: unknown) => {
        throw copyFailed(src, dst, e instanceof Error ? e.message : String(e));
      });
    } finally {
      closeSync(from);
      closeSync(to);
    }
  }
}

/** Makes a piece's top directory in the copy, keeping its parent's times as the parent's piece set them. */
function makeTop(src: string, dst: string, top: string): void {
  const cut = top.lastIndexOf('/');
  const parent = cut < 0 ? '' : top.slice(0, cut);
  const srcParent = openDirIn(src, parent);
  const dstParent = openDirIn(dst, parent);
  try {
    mkdirSync(fdPath(dstParent, top.slice(cut + 1)), { mode: 0o700 });
    const st = fstatSync(srcParent);
    utimesSync(fdPath(dstParent), st.atime, st.mtime);
  } finally {
    closeSync(srcParent);
    closeSync(dstParent);
  }
}
