// A guest tree deeper than PATH_MAX, made by guest root as an attacker would: every tool that
// walks a tree (re-own, copy, du, export, delete, the sweep of leftovers) still works, and one
// leftover that such a tree left never blocks unrelated guests.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lstatIn } from '../../src/storage/safe-tree.js';
import { IS_ROOT, TestRoot } from '../helpers/host.js';
import { deepPath, mkdirDeep } from '../helpers/trees.js';

const DEPTH = 2100;
const RANGE = 65536;
const LEAF = deepPath(DEPTH, 'bottom');

describe.skipIf(!IS_ROOT)('a guest tree 2100 directories deep', { timeout: 300_000 }, () => {
  const t = new TestRoot('deep');
  afterAll(() => t.cleanup());
  const base = async (g: string) => (JSON.parse((await t.cli(['status', g, '--json'])).stdout) as { idmap: { base: number } }).idmap.base;

  beforeAll(async () => {
    await t.ok(['build', 'g', '--context', '300']);
    await t.ok(['start', 'g']);
    // guest root digs down with relative steps only, as in the report
    await t.ok([
      'exec',
      'g',
      '--',
      'sh',
      '-c',
      `cd /root && i=0; while [ $i -lt ${DEPTH} ]; do mkdir a && cd -P a || exit 1; i=$((i+1)); done; echo bottom > bottom`,
    ]);
    await t.ok(['stop', 'g', '--timeout', '0']);
    expect(LEAF.length).toBeGreaterThan(4096);
    expect(lstatIn(t.paths.rootfs('g'), `root/${LEAF}`)?.uid).toBe(300 * RANGE);
  }, 300_000);

  it('du counts it', async () => {
    const rows = JSON.parse(await t.ok(['du', 'g', '--json'])) as { name: string; inodes: number }[];
    expect(rows.find((r) => r.name === 'g')!.inodes).toBeGreaterThan(DEPTH);
  });

  it('config context re-owns all of it, down to the bottom', async () => {
    await t.ok(['config', 'g', 'context', '301']);
    expect(await base('g')).toBe(301 * RANGE);
    const st = lstatIn(t.paths.rootfs('g'), `root/${LEAF}`)!;
    expect([st.uid, st.gid]).toEqual([301 * RANGE, 301 * RANGE]);
    await t.ok(['start', 'g']);
    // guest root still owns its files: it can write at the bottom (relative steps again)
    await t.ok([
      'exec',
      'g',
      '--',
      'sh',
      '-c',
      `cd /root && i=0; while [ $i -lt ${DEPTH} ]; do cd -P a || exit 1; i=$((i+1)); done; echo more >> bottom`,
    ]);
    await t.ok(['stop', 'g', '--timeout', '0']);
  });

  it('a clone copies all of it, on its own id range', async () => {
    // the control: a tool that works with whole paths (cp -a, which clones used) fails on this tree
    const scratch = join(t.root, 'cp-control');
    const cp = spawnSync('cp', ['-a', t.paths.rootfs('g'), scratch]);
    execFileSync('rm', ['-rf', scratch]);
    expect(cp.status).not.toBe(0);
    expect(cp.stderr.toString()).toMatch(/File name too long/);
    await t.ok(['build', 'c', '--clone', 'g', '--context', '302']);
    const st = lstatIn(t.paths.rootfs('c'), `root/${LEAF}`)!;
    expect(st.uid).toBe(302 * RANGE);
    expect(st.size).toBe('bottom\nmore\n'.length);
  });

  it('template create --from-guest copies all of it', async () => {
    await t.ok(['template', 'create', 'deep', '--from-guest', 'g']);
    const tpl = (JSON.parse(await t.ok(['template', 'list', '--json'])) as { name: string; context?: number }[]).find(
      (x) => x.name === 'deep',
    )!;
    expect(lstatIn(t.paths.templateRootfs('deep'), `root/${LEAF}`)?.uid).toBe(tpl.context! * RANGE);
  });

  it('export archives all of it', async () => {
    const file = join(t.root, 'g.tar.zst');
    await t.ok(['export', 'g', file]);
    const names = execFileSync('sh', ['-c', 'zstd -dcq "$1" | tar --ignore-zeros -t', 'sh', file], { maxBuffer: 1 << 28 })
      .toString()
      .split('\n');
    expect(names).toContain(`rootfs/root/${LEAF}`);
    // GNU tar cannot extract paths that long: import says so and keeps nothing
    const r = await t.cli(['import', file, '--name', 'back']);
    expect(r.code).toBe(14);
    expect(r.stderr).toMatch(/File name too long/);
    expect(r.stderr.length).toBeLessThan(2000);
    expect(readdirSync(t.paths.guestsDir).sort()).toEqual(['c', 'g']);
  });

  it('delete removes the guests and the template entirely', async () => {
    await t.ok(['template', 'delete', 'deep']);
    await t.ok(['delete', 'c']);
    await t.ok(['delete', 'g']);
    expect(readdirSync(t.paths.guestsDir)).toEqual([]);
    expect(readdirSync(t.paths.templatesDir)).toEqual([]);
  });

  it('a deep leftover of an interrupted delete blocks no build, and gc removes it', async () => {
    const leftover = (name: string) => {
      const dir = join(t.paths.guestsDir, name);
      mkdirSync(dir);
      mkdirDeep(dir, DEPTH, 'bottom', { uid: 0, gid: 0 });
    };
    leftover('.delete-old-1234');
    // the next build sweeps it on the way
    await t.ok(['build', 'after']);
    expect(readdirSync(t.paths.guestsDir)).toEqual(['after']);
    leftover('.delete-after-99');
    expect(await t.ok(['gc'])).toMatch(/half-deleted tree \.delete-after-99/);
    expect(readdirSync(t.paths.guestsDir)).toEqual(['after']);
    await t.ok(['delete', 'after']);
  });
});
