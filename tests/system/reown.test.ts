// A context change killed (kill -9) halfway through re-owning a tree of many files: the move was
// recorded before it began, start refuses the split tree, and gc or the next config finishes it.
import { chownSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/util/proc.js';
import { CLI, IS_ROOT, TestRoot } from '../helpers/host.js';

const RANGE = 65536;
const DIRS = 20;
const FILES = 500;
const KILL_AT = 4000;

/** Owners of the files under rootfs/many, counted by id range. */
function owners(t: TestRoot, g: string): Map<number, number> {
  const out = new Map<number, number>();
  const many = join(t.paths.rootfs(g), 'many');
  for (const d of readdirSync(many)) {
    for (const f of readdirSync(join(many, d))) {
      const base = Math.floor(lstatSync(join(many, d, f)).uid / RANGE);
      out.set(base, (out.get(base) ?? 0) + 1);
    }
  }
  return out;
}

describe.skipIf(!IS_ROOT)('a context change killed while it re-owns the tree', { timeout: 300_000 }, () => {
  let t: TestRoot;
  beforeEach(async () => {
    t = new TestRoot('reown');
    await t.ok(['build', 'g', '--context', '400']);
    const many = join(t.paths.rootfs('g'), 'many');
    mkdirSync(many);
    chownSync(many, 400 * RANGE, 400 * RANGE);
    for (let d = 0; d < DIRS; d++) {
      mkdirSync(join(many, `${d}`));
      chownSync(join(many, `${d}`), 400 * RANGE, 400 * RANGE);
      for (let f = 0; f < FILES; f++) {
        writeFileSync(join(many, `${d}`, `${f}`), `${d}/${f}\n`, { mode: 0o600 });
        chownSync(join(many, `${d}`, `${f}`), 400 * RANGE, 400 * RANGE);
      }
    }
    // kill -9 after KILL_AT files moved, at the same point every run
    const r = await run(process.execPath, [CLI, 'config', 'g', 'context', '401'], {
      env: t.env({ VSERVER_CRASH_AT: `reown:${KILL_AT}` }),
      timeoutMs: 120_000,
    });
    expect(r.signal).toBe('SIGKILL');
  }, 300_000); // 10,000 files made and half re-owned: slow on a loaded machine
  afterEach(() => t.cleanup());

  const context = async () => (JSON.parse((await t.cli(['status', 'g', '--json'])).stdout) as { context: number }).context;

  it('leaves a split tree that start refuses with a clear error', async () => {
    // the control: the files really are split between the two ranges, and the config says the old one
    const split = owners(t, 'g');
    expect(split.get(400)).toBeGreaterThan(0);
    expect(split.get(401)).toBeGreaterThan(0);
    expect(await context()).toBe(400);
    expect((await t.cli(['status', 'g'])).stderr).toMatch(/warning: guest 'g' is half re-owned.*'vserver gc'/);
    const r = await t.cli(['start', 'g']);
    expect(r.code).toBe(27);
    expect(r.stderr).toMatch(/guest 'g' is half re-owned: changing it to context 401 was interrupted/);
    expect(r.stderr).toMatch(/vserver gc/);
    expect(await t.runtimeIds()).toEqual([]);
    // its target stays reserved meanwhile: no other guest can take context 401
    const other = await t.cli(['build', 'h', '--context', '401']);
    expect(other.code).toBe(12);
    // nor can the split tree be copied or exported
    expect((await t.cli(['build', 'c', '--clone', 'g'])).code).toBe(27);
    expect((await t.cli(['export', 'g', join(t.root, 'g.tar.zst')])).code).toBe(27);
  });

  it('gc finishes the move; then the guest starts and its root owns every file', async () => {
    const out = await t.ok(['gc']);
    expect(out).toMatch(/g: removed a half-done re-own \(finished the change to context 401, \d+ files moved\)/);
    expect(owners(t, 'g')).toEqual(new Map([[401, DIRS * FILES]]));
    expect(await context()).toBe(401);
    expect(await t.ok(['gc'])).toBe('nothing to clean up\n');
    await t.ok(['start', 'g']);
    expect(await t.ok(['exec', 'g', '--', 'sh', '-c', 'cat /many/19/499 && echo x >> /many/0/0 && id -u'])).toBe('19/499\n0\n');
    await t.ok(['stop', 'g', '--timeout', '0']);
  });

  it('the next config finishes the move first, then makes its own change', async () => {
    await t.ok(['config', 'g', 'context', '402']);
    expect(owners(t, 'g')).toEqual(new Map([[402, DIRS * FILES]]));
    expect(lstatSync(t.paths.rootfs('g')).uid).toBe(402 * RANGE);
    expect(await context()).toBe(402);
    await t.ok(['start', 'g']);
    expect(await t.ok(['exec', 'g', '--', 'cat', '/many/10/250'])).toBe('10/250\n');
    await t.ok(['stop', 'g', '--timeout', '0']);
  });
});
