// Id ranges are host-wide: two installations sharing a registry never get one range, and a range
// that /etc/subuid or /etc/subgid gives to a user is never used.
import { chmodSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { parseSubid, subidHolders } from '../../src/security/id-registry.js';
import { findStaticBusybox } from '../../src/storage/busybox.js';
import { VsError } from '../../src/util/errors.js';
import { fakeHostFacts, FakeCgroups, FakeLxcfs, FakeRuntime } from '../helpers/fake-runtime.js';

describe('subordinate ids', () => {
  it('parses user:start:count lines and skips the rest', () => {
    expect(parseSubid('/etc/subuid', 'alice:100000:65536\n# comment\nbroken\nbob:6553600:1\n')).toEqual([
      { file: '/etc/subuid', user: 'alice', start: 100000, count: 65536 },
      { file: '/etc/subuid', user: 'bob', start: 6553600, count: 1 },
    ]);
  });

  it('names the contexts whose range a grant overlaps, even by one id', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vssub-'));
    try {
      writeFileSync(join(dir, 'subuid'), 'bob:6553600:1\n');
      writeFileSync(join(dir, 'subgid'), 'carol:6684671:2\n'); // last id of 101 and first of 102
      const held = subidHolders([join(dir, 'subuid'), join(dir, 'subgid'), join(dir, 'missing')]);
      expect([...held.keys()].sort()).toEqual([100, 101, 102]);
      expect(held.get(100)).toBe(`user 'bob' (${join(dir, 'subuid')})`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!findStaticBusybox())('two installations on one host', () => {
  let base: string;
  const engines: Engine[] = [];

  function installation(tag: string, extra = ''): Engine {
    const root = join(base, tag);
    mkdirSync(join(root, 'etc/vserver'), { recursive: true });
    chmodSync(base, 0o755);
    writeFileSync(
      join(root, 'etc/vserver/vserver.toml'),
      `id_registry = "${base}/ranges"\nsubid_files = ["${base}/subuid", "${base}/subgid"]\n${extra}`,
    );
    const e = new Engine(root, {
      runtime: new FakeRuntime(),
      cgroups: new FakeCgroups(),
      hostFacts: fakeHostFacts,
      lxcfs: new FakeLxcfs(),
    });
    engines.push(e);
    return e;
  }

  async function error(p: Promise<unknown>): Promise<VsError> {
    try {
      await p;
    } catch (e) {
      if (e instanceof VsError) return e;
      throw e;
    }
    throw new Error('expected an error');
  }

  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'vsreg-'));
  });
  afterEach(() => {
    engines.length = 0;
    rmSync(base, { recursive: true, force: true });
  });

  it('gives their guests different ranges and refuses a range the other holds', async () => {
    const a = installation('a');
    const b = installation('b');
    const ga = await a.build('web');
    const gb = await b.build('web');
    expect(ga.context).toBe(100);
    expect(gb.context).toBe(101);
    expect(readlinkSync(join(base, 'ranges/100'))).toBe(join(base, 'a'));
    const e = await error(b.build('x', { context: 100 }));
    expect(e.code).toBe('ALREADY_EXISTS');
    expect(e.message).toBe(`the host ids of context 100 (6553600-6619135) are taken by the installation at ${join(base, 'a')}`);
    expect((await error(b.setConfig('web', 'context', 100))).message).toMatch(/taken by the installation at/);
    // deleting gives the range back
    await a.delete('web');
    expect((await b.build('x', { context: 100 })).context).toBe(100);
  });

  it('takes over a claim that its installation no longer uses', async () => {
    const a = installation('a');
    await a.build('web');
    rmSync(join(base, 'a'), { recursive: true, force: true }); // an installation removed without deleting its guests
    const b = installation('b');
    expect((await b.build('web')).context).toBe(100);
    expect(readlinkSync(join(base, 'ranges/100'))).toBe(join(base, 'b'));
  });

  it('claims the numbers of guests made before the registry, at its next build', async () => {
    const a = installation('a');
    await a.build('old');
    rmSync(join(base, 'ranges'), { recursive: true, force: true });
    await a.build('new');
    const b = installation('b');
    expect((await b.build('web')).context).toBe(102);
  });

  it('skips ranges given to users in /etc/subuid and /etc/subgid, and refuses them when asked for', async () => {
    writeFileSync(join(base, 'subuid'), 'bob:6553600:65536\n');
    writeFileSync(join(base, 'subgid'), 'carol:6619136:10\n');
    const a = installation('a');
    expect((await a.build('web')).context).toBe(102);
    const e = await error(a.build('x', { context: 101 }));
    expect(e.message).toBe(`the host ids of context 101 (6619136-6684671) are taken by user 'carol' (${join(base, 'subgid')})`);
  });

  it('refuses to start a guest whose range another installation runs (two made before the registry)', async () => {
    const a = installation('a');
    const b = installation('b');
    for (const root of ['a', 'b']) {
      mkdirSync(join(base, root, 'etc/vserver/guests'), { recursive: true });
      writeFileSync(join(base, root, 'etc/vserver/guests/web.toml'), 'context = 100\ninit = "cmd"\ncmd = ["/bin/sh"]\n');
      mkdirSync(join(base, root, 'var/lib/vserver/guests/web/rootfs'), { recursive: true });
    }
    chmodSync(join(base, 'a'), 0o755);
    chmodSync(join(base, 'b'), 0o755);
    await a.start('web');
    const e = await error(b.start('web'));
    expect(e.code).toBe('ALREADY_EXISTS');
    expect(e.message).toBe(`the host ids of context 100 (6553600-6619135) are taken by the installation at ${join(base, 'a')}`);
    await b.setConfig('web', 'context', 101);
    expect((await b.start('web')).context).toBe(101);
  });

  it('without the registry, both would take context 100 (control)', async () => {
    const a = installation('a', '');
    const b = new Engine(join(base, 'b'), {
      runtime: new FakeRuntime(),
      cgroups: new FakeCgroups(),
      hostFacts: fakeHostFacts,
      lxcfs: new FakeLxcfs(),
    });
    mkdirSync(join(base, 'b/etc/vserver'), { recursive: true });
    writeFileSync(join(base, 'b/etc/vserver/vserver.toml'), `id_registry = "${base}/other-ranges"\nsubid_files = []\n`);
    expect((await a.build('web')).context).toBe(100);
    expect((await b.build('web')).context).toBe(100);
  });
});
