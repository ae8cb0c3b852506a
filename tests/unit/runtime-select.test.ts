// Which runtime a host may use: crun is never started on a cgroup v1 host, or a hybrid one with
// controllers left on its unified tree, where it would refuse only after changing the owner of the
// host's /dev/null.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unifiedControllers } from '../../src/resources/cgroup.js';
import { selectRuntime } from '../../src/runtime/select.js';
import { writeFileAtomic } from '../../src/util/atomic.js';
import { VsError } from '../../src/util/errors.js';
import { Paths } from '../../src/util/paths.js';
import { which } from '../../src/util/which.js';

let dir: string;
let paths: Paths;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vst-select-'));
  paths = new Paths(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!which('crun') || !which('runc'))('selectRuntime', () => {
  it('refuses a pinned crun on v1 hosts and on hybrid hosts with a controller on v2, saying what to do', async () => {
    const cases = [
      { cgroupLayout: 'v1' as const, says: 'in v1 mode', hint: 'runc' },
      {
        cgroupLayout: 'hybrid' as const,
        unifiedControllers: ['hugetlb'],
        says: 'the controller hugetlb on the unified tree',
        hint: 'mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb',
      },
    ];
    for (const { says, hint, ...host } of cases) {
      const e = await selectRuntime(paths, { runtime: 'crun', ...host }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(VsError);
      expect((e as VsError).code).toBe('UNSUPPORTED');
      expect((e as VsError).message).toContain(says);
      expect((e as VsError).hint).toContain(hint);
    }
  });

  it('gives crun on a pure cgroup v2 host, and on a hybrid one with every controller on v1 (the controls)', async () => {
    expect((await selectRuntime(paths, { runtime: 'crun', cgroupLayout: 'v2' })).name).toBe('crun');
    expect((await selectRuntime(paths, { runtime: 'crun', cgroupLayout: 'hybrid', unifiedControllers: [] })).name).toBe('crun');
  });

  it('chooses crun by itself only on a pure cgroup v2 host, even without a probe: on a hybrid one it must be named', async () => {
    expect((await selectRuntime(paths, { runtime: 'auto', cgroupLayout: 'hybrid', unifiedControllers: ['hugetlb'] })).name).toBe('runc');
    expect((await selectRuntime(paths, { runtime: 'auto', cgroupLayout: 'hybrid', unifiedControllers: [] })).name).toBe('runc');
    expect((await selectRuntime(paths, { runtime: 'auto', cgroupLayout: 'v1' })).name).toBe('runc');
    expect((await selectRuntime(paths, { runtime: 'auto', cgroupLayout: 'v2' })).name).toBe('crun');
  });

  it('does not keep to a crun chosen before, once the host is no longer pure v2', async () => {
    writeFileAtomic(paths.runtimeCache, JSON.stringify({ name: 'crun', path: which('crun') }), 0o644);
    expect((await selectRuntime(paths, { runtime: 'auto', cgroupLayout: 'v2' })).name).toBe('crun');
    expect((await selectRuntime(paths, { runtime: 'auto', cgroupLayout: 'hybrid', unifiedControllers: [] })).name).toBe('runc');
  });

  it('keeps to that crun while guests still run under it, so that they can be stopped', async () => {
    writeFileAtomic(paths.runtimeCache, JSON.stringify({ name: 'crun', path: which('crun') }), 0o644);
    mkdirSync(join(paths.runtimeRoot('crun'), 'g1'), { recursive: true });
    expect((await selectRuntime(paths, { runtime: 'auto', cgroupLayout: 'hybrid', unifiedControllers: ['hugetlb'] })).name).toBe('crun');
  });
});

describe('unifiedControllers', () => {
  it("reads the controllers a hybrid host's unified tree holds, from a fixture tree", () => {
    mkdirSync(join(dir, 'cg/unified'), { recursive: true });
    writeFileSync(join(dir, 'cg/unified/cgroup.controllers'), 'hugetlb rdma\n');
    expect(unifiedControllers(join(dir, 'cg'))).toEqual(['hugetlb', 'rdma']);
    writeFileSync(join(dir, 'cg/unified/cgroup.controllers'), '\n');
    expect(unifiedControllers(join(dir, 'cg'))).toEqual([]);
    expect(unifiedControllers(join(dir, 'none'))).toBeUndefined();
  });
});
