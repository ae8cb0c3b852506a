import { linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { splitDeep } from '../../src/storage/copy.js';
import { treeUsage } from '../../src/storage/du.js';
import { readFileIn, walkTree, writeFileIn } from '../../src/storage/safe-tree.js';
import { overlayTree } from '../../src/storage/tree-io.js';
import { mkdirDeep } from '../helpers/trees.js';

let dir: string;
let tree: string;
let outside: string;
const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vst-safe-'));
  tree = join(dir, 'tree');
  outside = join(dir, 'outside');
  mkdirSync(join(tree, 'etc'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'precious'), 'host data\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('safe tree access', () => {
  it('replaces a planted symlink instead of writing through it', () => {
    symlinkSync(join(outside, 'precious'), join(tree, 'etc/hostname'));
    writeFileIn(tree, 'etc/hostname', 'guest\n', 0o644, me);
    expect(readFileSync(join(outside, 'precious'), 'utf8')).toBe('host data\n');
    expect(lstatSync(join(tree, 'etc/hostname')).isFile()).toBe(true);
    expect(readFileSync(join(tree, 'etc/hostname'), 'utf8')).toBe('guest\n');
  });

  it('refuses a directory on the way that is a symlink', () => {
    symlinkSync(outside, join(tree, 'var'));
    expect(() => writeFileIn(tree, 'var/precious', 'x', 0o644, me)).toThrow(/ELOOP|ENOTDIR/);
    expect(readFileIn(tree, 'var/precious')).toBeUndefined();
    expect(readFileSync(join(outside, 'precious'), 'utf8')).toBe('host data\n');
  });

  it('walks without following links and counts a hard-linked file once', () => {
    writeFileSync(join(tree, 'etc/a'), 'x'.repeat(10000));
    linkSync(join(tree, 'etc/a'), join(tree, 'etc/a-hard'));
    symlinkSync(outside, join(tree, 'out'));
    const seen: string[] = [];
    walkTree(tree, ({ rel }) => seen.push(rel));
    expect(seen.sort()).toEqual(['', 'etc', 'etc/a', 'etc/a-hard', 'out']);
    const u = treeUsage(tree);
    expect(u.inodes).toBe(4);
    expect(u.bytes).toBeLessThan(64 * 1024);
  });

  it('writes an overlay upper layer the way overlayfs copies up', () => {
    const lower = join(dir, 'lower');
    const upper = join(dir, 'upper');
    mkdirSync(join(lower, 'etc/deep'), { recursive: true, mode: 0o750 });
    writeFileSync(join(lower, 'etc/hosts'), '127.0.0.1\tlocalhost\n');
    mkdirSync(upper);
    const t = overlayTree(lower, upper);
    expect(t.read('etc/hosts')).toBe('127.0.0.1\tlocalhost\n');
    t.write('etc/deep/file', 'new', 0o600, me);
    t.symlink('etc/link', '/dev/null', me);
    expect(readFileSync(join(upper, 'etc/deep/file'), 'utf8')).toBe('new');
    expect(lstatSync(join(upper, 'etc/deep')).mode & 0o777).toBe(lstatSync(join(lower, 'etc/deep')).mode & 0o777);
    expect(readlinkSync(join(upper, 'etc/link'))).toBe('/dev/null');
    expect(t.read('etc/deep/file')).toBe('new');
    expect(readFileSync(join(lower, 'etc/hosts'), 'utf8')).toBe('127.0.0.1\tlocalhost\n');
  });
});

describe('trees deeper than PATH_MAX', () => {
  const DEPTH = 2100;
  const deep = () => {
    mkdirDeep(tree, DEPTH, 'bottom', me);
    return () => execFileSync('rm', ['-rf', join(tree, 'a')]); // rmSync cannot go that deep
  };

  it('walks every level in order, with a bounded number of open directories', () => {
    const done = deep();
    try {
      const fds = () => readdirSync('/proc/self/fd').length;
      const before = fds();
      let most = 0;
      const rels: string[] = [];
      walkTree(tree, ({ rel }) => {
        rels.push(rel);
        most = Math.max(most, fds() - before);
      });
      expect(rels.length).toBe(DEPTH + 3); // the root, etc, the chain, the file at its bottom
      expect(rels).toContain(`${'a/'.repeat(DEPTH)}bottom`);
      expect(rels.filter((r) => r.startsWith('a')).every((r, i, all) => i === 0 || r.startsWith(all[i - 1]!))).toBe(true);
      expect(most).toBeLessThan(80);
      expect(fds()).toBe(before);
    } finally {
      done();
    }
  }, 60_000);

  it('cuts a deep tree into pieces whose paths stay short, covering every entry once', () => {
    const done = deep();
    try {
      const pieces = splitDeep(tree);
      expect(pieces.length).toBe(2);
      const all = pieces.flatMap((p) => p.entries.map((e) => (e === '.' ? p.top : p.top === '' ? e : `${p.top}/${e}`)));
      expect(all.sort()).toEqual([...new Set(all)].sort());
      expect(all.length).toBe(DEPTH + 3);
      for (const p of pieces) expect(Math.max(...p.entries.map((e) => e.length))).toBeLessThan(3300);
      expect(splitDeep(join(tree, 'etc'))).toEqual([{ top: '', entries: ['.'] }]);
    } finally {
      done();
    }
  }, 60_000);
});
