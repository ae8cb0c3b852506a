// Which runtime a host may use: crun is never started on a cgroup v1 or hybrid host, where it would
// refuse only after changing the owner of the host's /dev/null.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { selectRuntime } from '../../src/runtime/select.js';
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
  it('refuses a pinned crun on v1 and hybrid hosts, saying what to use instead', async () => {
    for (const layout of ['v1', 'hybrid'] as const) {
      const e = await selectRuntime(paths, { runtime: 'crun', cgroupLayout: layout }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(VsError);
      expect((e as VsError).code).toBe('UNSUPPORTED');
      expect((e as VsError).message).toContain(`in ${layout} mode`);
      expect((e as VsError).hint).toContain('runc');
    }
  });

  it('gives crun on a pure cgroup v2 host (the control)', async () => {
    expect((await selectRuntime(paths, { runtime: 'crun', cgroupLayout: 'v2' })).name).toBe('crun');
  });

  it('leaves crun out of the automatic choice on a hybrid host, even without a probe', async () => {
    expect((await selectRuntime(paths, { runtime: 'auto', cgroupLayout: 'hybrid' })).name).toBe('runc');
    expect((await selectRuntime(paths, { runtime: 'auto', cgroupLayout: 'v2' })).name).toBe('crun');
  });
});
