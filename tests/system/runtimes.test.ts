// Guests under each OCI runtime installed here, and test helpers that look at the runtime the
// guests really use (the one vserver chose, or the one a root pins), not at a fixed one.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { which } from '../../src/util/which.js';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

const PURE_V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
const INSTALLED = (['runc', 'crun'] as const).filter((r) => which(r) !== undefined);

describe.skipIf(!IS_ROOT)('runtimes', () => {
  const roots: TestRoot[] = [];
  afterEach(async () => {
    for (const t of roots.splice(0)) await t.cleanup();
  });

  it('the helpers read the runtime vserver chose on its own', async () => {
    const t = new TestRoot('rt-auto');
    roots.push(t);
    await t.ok(['build', 'a1']);
    await t.ok(['start', 'a1']);
    const chosen = t.runtimePath();
    expect(INSTALLED.map((r) => which(r))).toContain(chosen);
    expect(await t.runtimeIds()).toEqual(['a1']);
    await t.ok(['stop', 'a1', '--timeout', '0']);
    expect(await t.runtimeIds()).toEqual([]);
    expect(await t.leaks()).toEqual([]);
  });

  for (const runtime of INSTALLED) {
    it(`runs a guest under ${runtime} when a root pins it`, async (ctx) => {
      const t = new TestRoot(`rt-${runtime}`, { runtime });
      roots.push(t);
      await t.ok(['build', 'p1']);
      const r = await t.cli(['start', 'p1']);
      // crun refuses hosts that still mount cgroup v1 hierarchies; runc must work everywhere
      if (r.code !== 0 && runtime === 'crun' && !PURE_V2) ctx.skip(`crun refuses this cgroup v1/hybrid host: ${r.stderr.trim()}`);
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(join(t.paths.runtimeRoot(runtime), 'p1'))).toBe(true);
      expect(t.runtimePath()).toBe(which(runtime));
      expect((await t.ok(['exec', 'p1', '--', 'hostname'])).trim()).toBe('p1');
      expect(await t.runtimeIds()).toEqual(['p1']);
      await t.ok(['stop', 'p1', '--timeout', '0']);
      expect(await t.runtimeIds()).toEqual([]);
      expect(await t.leaks()).toEqual([]);
    });
  }
});
