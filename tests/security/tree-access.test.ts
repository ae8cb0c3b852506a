// Host users against what guest root planted in its tree: a set-id program and a device node.
// Each attempt has its control: the same with the guest's directory as passable as it used to be.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

const NOBODY = 65534;
const RANGE = 65536;

/**
 * Runs argv as the host user nobody, with no groups. Through a shell: setpriv keeps its
 * capabilities until it execs, so a program it starts directly is looked up as root.
 */
function asNobody(argv: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', 'sh', '-c', '"$@"', 'sh', ...argv], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe.skipIf(!IS_ROOT)('guest trees and host users', () => {
  const t = new TestRoot('tree-access');
  const scratch = mkdtempSync(join(tmpdir(), 'vst-euid-'));
  afterAll(async () => {
    await t.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Mode, owner and group of guests/NAME. */
  const access = (dir: string) => {
    const st = statSync(dir);
    return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  };

  beforeAll(async () => {
    // a static program that says which user it runs as
    const src = join(scratch, 'euid.c');
    writeFileSync(src, '#include <stdio.h>\n#include <unistd.h>\nint main(void){printf("euid=%d\\n",(int)geteuid());return 0;}\n');
    execFileSync('gcc', ['-static', '-O2', '-o', join(scratch, 'euid'), src]);
    for (const [g, extra] of [
      ['unpriv', []],
      ['priv', ['--privileged']],
    ] as const) {
      await t.ok(['build', g, ...extra]);
      const base = JSON.parse((await t.cli(['status', g, '--json'])).stdout).idmap?.base ?? 0;
      execFileSync('install', [
        '-o',
        String(base),
        '-g',
        String(base),
        '-m',
        '0755',
        join(scratch, 'euid'),
        join(t.paths.rootfs(g), 'euid'),
      ]);
      await t.ok(['start', g]);
      // guest root plants a set-user-id program, and (where it may) a device node anyone may open
      await t.ok(['exec', g, '--', 'sh', '-c', `chmod 4755 /euid${g === 'priv' ? ' && mknod -m 0666 /null2 c 1 3' : ''}`]);
      await t.ok(['stop', g, '--timeout', '0']);
    }
  });

  it('keeps guests/NAME to host root and the guest root id', async () => {
    const { idmap } = JSON.parse((await t.cli(['status', 'unpriv', '--json'])).stdout);
    expect(access(t.paths.guestDir('unpriv'))).toEqual({ mode: 0o710, uid: 0, gid: idmap.base });
    expect(access(t.paths.guestDir('priv'))).toEqual({ mode: 0o710, uid: 0, gid: 0 });
    // the guest itself still reaches its tree
    await t.ok(['start', 'unpriv']);
    expect((await t.ok(['exec', 'unpriv', '--', '/euid'])).trim()).toBe('euid=0');
    await t.ok(['stop', 'unpriv', '--timeout', '0']);
  });

  for (const [g, euid] of [
    ['unpriv', 'the guest root id'],
    ['priv', 'host root'],
  ] as const) {
    it(`a host user cannot run the set-id program of the ${g} guest (control: through a 0711 directory it runs as ${euid})`, async () => {
      const prog = join(t.paths.rootfs(g), 'euid');
      const denied = asNobody([prog]);
      expect(denied.code).not.toBe(0);
      expect(denied.err).toMatch(/Permission denied/);
      expect(denied.out).not.toMatch(/euid=/);
      const dev = join(t.paths.rootfs(g), 'null2');
      if (g === 'priv') expect(asNobody(['sh', '-c', `echo x > ${dev}`]).code).not.toBe(0);
      const dir = t.paths.guestDir(g);
      const before = access(dir);
      chmodSync(dir, 0o711);
      try {
        const base = g === 'priv' ? 0 : JSON.parse((await t.cli(['status', g, '--json'])).stdout).idmap.base;
        expect(asNobody([prog]).out.trim()).toBe(`euid=${base}`);
        if (g === 'priv') expect(asNobody(['sh', '-c', `echo x > ${dev}`]).code).toBe(0);
      } finally {
        chmodSync(dir, before.mode);
      }
    });
  }

  it('moves an installation of the old layout over on the first command, templates included', async () => {
    await t.ok(['template', 'create', 'tp', '--from-guest', 'unpriv']);
    const tpContext = JSON.parse(await t.ok(['template', 'list', '--json'])).find((x: { name: string }) => x.name === 'tp').context;
    expect(access(t.paths.template('tp'))).toEqual({ mode: 0o710, uid: 0, gid: tpContext * RANGE });
    // what an older version left: every directory 0711 root:root, and no layout mark
    for (const d of [t.paths.guestDir('unpriv'), t.paths.guestDir('priv'), t.paths.template('tp')]) {
      chownSync(d, 0, 0);
      chmodSync(d, 0o711);
    }
    rmSync(join(t.paths.lib, 'layout'));
    expect(asNobody([join(t.paths.rootfs('unpriv'), 'euid')]).out).toMatch(/euid=/);
    await t.ok(['list']);
    const { idmap } = JSON.parse((await t.cli(['status', 'unpriv', '--json'])).stdout);
    expect(access(t.paths.guestDir('unpriv'))).toEqual({ mode: 0o710, uid: 0, gid: idmap.base });
    expect(access(t.paths.guestDir('priv'))).toEqual({ mode: 0o710, uid: 0, gid: 0 });
    expect(access(t.paths.template('tp'))).toEqual({ mode: 0o710, uid: 0, gid: tpContext * RANGE });
    expect(asNobody([join(t.paths.rootfs('unpriv'), 'euid')]).err).toMatch(/Permission denied/);
  });

  it('follows a context change with the directory group', async () => {
    await t.ok(['config', 'unpriv', 'context', '530']);
    expect(access(t.paths.guestDir('unpriv'))).toEqual({ mode: 0o710, uid: 0, gid: 530 * RANGE });
    await t.ok(['start', 'unpriv']);
    await t.ok(['stop', 'unpriv', '--timeout', '0']);
  });
});
