// Guests under each OCI runtime installed here, and test helpers that look at the runtime the
// guests really use (the one vserver chose, or the one a root pins), not at a fixed one.
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectLayout, unifiedControllers } from '../../src/resources/cgroup.js';
import { run } from '../../src/util/proc.js';
import { afterEach, describe, expect, it } from 'vitest';
import { which } from '../../src/util/which.js';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

const LAYOUT = detectLayout();
const LEFT_ON_V2 = LAYOUT === 'hybrid' ? unifiedControllers() : [];
/** Why crun cannot run guests here (vserver refuses it too), or undefined where it can. */
const CRUN_REFUSED =
  LAYOUT === 'v1'
    ? 'the host mounts only cgroup v1 hierarchies'
    : LEFT_ON_V2 === undefined || LEFT_ON_V2.length > 0
      ? `the hybrid host leaves ${LEFT_ON_V2?.join(', ') ?? 'controllers'} on its unified tree (mount each as a v1 hierarchy to use crun)`
      : undefined;
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
      // runc must work everywhere; crun where its cgroups allow it, and vserver says so elsewhere
      if (runtime === 'crun' && CRUN_REFUSED) {
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('crun cannot run guests on this host');
        ctx.skip(`crun cannot run on this host: ${CRUN_REFUSED}`);
      }
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

  it.skipIf(!INSTALLED.includes('crun'))(
    "starts a guest with its own user namespace under crun without giving its root the host's /dev/null or log",
    async (ctx) => {
      if (CRUN_REFUSED) ctx.skip(`crun cannot run on this host: ${CRUN_REFUSED}`);
      const t = new TestRoot('rt-crun-stdio', { runtime: 'crun' });
      roots.push(t);
      await t.ok(['build', 's1']);
      const before = statSync('/dev/null');
      await t.ok(['start', 's1']);
      const log = statSync(t.paths.log('s1'));
      expect([statSync('/dev/null').uid, statSync('/dev/null').gid]).toEqual([before.uid, before.gid]);
      expect([log.uid, log.gid]).toEqual([0, 0]);
      // init's stdin reads as empty, as /dev/null would
      const pid = await t.pid('s1');
      expect(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim()).not.toMatch(/^0\s+0\s/);
      expect(await t.ok(['exec', 's1', '--', 'sh', '-c', 'wc -c < /proc/1/fd/0 2>/dev/null || echo none'])).toMatch(/^(0|none)\n$/);

      // the control: crun itself, given a /dev/null-like node as init's stdin, hands it to the guest's root
      const dir = mkdtempSync(join(t.root, 'raw-'));
      const bundle = join(dir, 'bundle');
      cpSync(t.paths.bundle('s1'), bundle, { recursive: true });
      const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
      spec.linux.cgroupsPath = `/${t.paths.cgroupPrefix}raw`;
      delete spec.hooks;
      spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'network').concat({ type: 'network' });
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
      const node = join(dir, 'null');
      expect((await run('mknod', ['-m', '666', node, 'c', '1', '3'])).code).toBe(0);
      const fd = openSync(node, 'r');
      const out = openSync(join(dir, 'log'), 'a');
      try {
        const state = join(dir, 'state');
        mkdirSync(state);
        const r = await run(which('crun')!, ['--root', state, 'run', '--detach', '--bundle', bundle, 'raw'], {
          stdio: [fd, out, out],
          untilExit: true,
        });
        await run(which('crun')!, ['--root', state, 'delete', '--force', 'raw']);
        expect(r.code, readFileSync(join(dir, 'log'), 'utf8')).toBe(0);
        expect(statSync(node).uid).toBe(spec.linux.uidMappings[0].hostID);
      } finally {
        closeSync(fd);
        closeSync(out);
        rmSync(dir, { recursive: true, force: true });
      }
      await t.ok(['stop', 's1', '--timeout', '0']);
      expect(await t.leaks()).toEqual([]);
    },
  );
});
