// Signed exports: an archive that crossed a network is imported only with a good signature by the
// key the importer names. The control: the same crafted archive passes the checksum manifest alone.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withConfig } from '../helpers/exports.js';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

describe.skipIf(!IS_ROOT)('export --sign and import --verify', () => {
  const t = new TestRoot('signed');
  afterAll(() => t.cleanup());
  const key = (n: string) => join(t.root, n);
  const archive = join(t.root, 's1.tar.zst');

  beforeAll(async () => {
    for (const k of ['alice', 'mallory']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', k, '-f', key(k)]);
    await t.ok(['build', 's1']);
  });

  it('signs into FILE.sig and imports what the named key signed', async () => {
    const out = await t.ok(['export', 's1', archive, '--sign', key('alice')]);
    expect(out).toContain(`signed: ${archive}.sig`);
    const r = await t.cli(['import', archive, '--name', 's2', '--verify', key('alice.pub')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/signature {2}good, by the key in .*alice\.pub/);
  });

  it('refuses a crafted archive and a signature by another key, importing nothing; control: the manifest alone lets the crafted one in', async () => {
    const crafted = join(t.root, 'crafted.tar.zst');
    withConfig(archive, crafted, 'evil', 'context = 620\nhostname = "evil"\n');
    copyFileSync(`${archive}.sig`, `${crafted}.sig`);
    const bad = await t.cli(['import', crafted, '--verify', key('alice.pub')]);
    expect(bad.code).toBe(20);
    expect(bad.stderr).toMatch(/crafted\.tar\.zst is not signed by .*alice\.pub/);
    expect(existsSync(t.paths.guestDir('evil'))).toBe(false);
    // signed by mallory: a good signature, by the wrong key
    rmSync(`${crafted}.sig`);
    execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-f', key('mallory'), '-n', 'vserver-export', crafted]);
    const wrongKey = await t.cli(['import', crafted, '--verify', key('alice.pub')]);
    expect(wrongKey.code).toBe(20);
    expect(wrongKey.stderr).toMatch(/is not signed by/);
    expect(existsSync(t.paths.guestDir('evil'))).toBe(false);
    const control = await t.cli(['import', crafted]);
    expect(control.code, control.stderr).toBe(0);
    expect(control.stdout).toMatch(/imported guest evil .* every file matched the manifest/);
  });

  it('says what is missing or wrong, and leaves no archive when signing fails', async () => {
    const lone = join(t.root, 'lone.tar.zst');
    copyFileSync(archive, lone);
    const noSig = await t.cli(['import', lone, '--name', 'lone', '--verify', key('alice.pub')]);
    expect(noSig.code).toBe(4);
    expect(noSig.stderr).toMatch(/no signature .*lone\.tar\.zst\.sig beside the export/);
    expect((await t.cli(['import', archive, '--name', 'x', '--verify', join(t.root, 'nokey.pub')])).code).toBe(4);
    expect((await t.cli(['import', archive, '--name', 'x', '--verify', key('alice')])).stderr).toMatch(/holds no SSH public key/);
    expect((await t.cli(['export', 's1', '-', '--sign', key('alice')])).code).toBe(2);
    expect((await t.cli(['import', '-', '--verify', key('alice.pub')], { input: '' })).code).toBe(2);
    const failed = join(t.root, 'failed.tar.zst');
    const r = await t.cli(['export', 's1', failed, '--sign', join(t.root, 'nokey')]);
    expect(r.code).toBe(17);
    expect(r.stderr).toMatch(/cannot sign the export with/);
    expect(readdirSync(t.root).filter((f) => f.includes('failed') || f.includes('.export-'))).toEqual([]);
    expect(readdirSync(t.paths.guestsDir).sort()).toEqual(['evil', 's1', 's2']);
  });
});
