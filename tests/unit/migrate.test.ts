// The pure parts of migrate: the destination, the words handed to ssh and rsync, rsync's change
// count, the ACL dump moved to another id range, and the list of what changed for the final copy.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDestination, shellWord, sshCommand, sshHost } from '../../src/engine/migrate-remote.js';
import { changedSince, countChanges, holdsDeviceNodes, rsyncWord } from '../../src/storage/rsync.js';
import { shiftAclDump } from '../../src/storage/owner-attrs.js';
import { isVsError } from '../../src/util/errors.js';

describe('migration destination', () => {
  it('takes ssh://[user@]host[:port], IPv6 in brackets', () => {
    expect(parseDestination('ssh://root@host2')).toMatchObject({ user: 'root', host: 'host2' });
    expect(parseDestination('ssh://host2:2222')).toMatchObject({ user: 'root', host: 'host2', port: 2222 });
    const v6 = parseDestination('ssh://admin@[fd00::2]:22');
    expect(v6).toMatchObject({ user: 'admin', host: '[fd00::2]', port: 22 });
    expect(sshHost(v6)).toBe('admin@fd00::2');
    expect(sshCommand(v6, ['IdentityFile=/k'])).toEqual(expect.arrayContaining(['-p', '22', '-o', 'IdentityFile=/k']));
  });

  it('refuses anything else with the form to use', () => {
    for (const bad of [
      'host2',
      'ssh://',
      'http://host2',
      'ssh://root@host2:99999',
      'ssh://root@ho st',
      'ssh://-oProxyCommand=x',
      'ssh://root@-oProxy',
    ]) {
      let err: unknown;
      try {
        parseDestination(bad);
      } catch (e) {
        err = e;
      }
      expect(isVsError(err, 'USAGE'), bad).toBe(true);
      expect((err as Error & { hint: string }).hint).toMatch(/ssh:\/\/root@HOST/);
    }
  });
});

describe('words for the remote shell and for rsync -e', () => {
  it('quotes what a shell or rsync would split or expand', () => {
    expect(shellWord('/usr/bin/vserver')).toBe('/usr/bin/vserver');
    expect(shellWord('a b; rm -rf /')).toBe("'a b; rm -rf /'");
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
    expect(rsyncWord('UserKnownHostsFile=/tmp/k h')).toBe("'UserKnownHostsFile=/tmp/k h'");
    expect(rsyncWord("it's")).toBe('"it\'s"');
    expect(() => rsyncWord(`'"`)).toThrow(/both kinds of quote/);
  });
});

describe("rsync's itemized changes", () => {
  it('counts sent, created, linked and deleted entries, and attribute changes', () => {
    const listing = [
      '>f+++++++++ etc/new',
      '.d..t...... ./',
      'cd+++++++++ var/',
      'hf+++++++++ data/hard => data/a',
      '*deleting   old',
      '.f...p..... data/mode',
      'cL+++++++++ data/sym -> a',
      '',
      'sent 1,234 bytes',
    ].join('\n');
    expect(countChanges(listing)).toBe(7);
    expect(countChanges('')).toBe(0);
  });
});

describe('ACL dump moved to another id range', () => {
  it('moves owners and named entries in the range, and leaves other ids alone', () => {
    const from = { base: 6553600, size: 65536 };
    const to = { base: 6619136, size: 65536 };
    const dump = [
      '# file: /t/rootfs/a',
      '# owner: 6554600',
      '# group: 6553600',
      'user::rw-',
      'user:6554600:rw-',
      'group:50:r--',
      'default:group:6553650:r-x',
      'mask::rw-',
      'other::r--',
      '',
    ].join('\n');
    expect(shiftAclDump(dump, from, to).split('\n')).toEqual([
      '# file: /t/rootfs/a',
      '# owner: 6620136',
      '# group: 6619136',
      'user::rw-',
      'user:6620136:rw-',
      'group:50:r--',
      'default:group:6619186:r-x',
      'mask::rw-',
      'other::r--',
      '',
    ]);
  });
});

describe('what changed since a pre-copy round began', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('lists every entry changed since then, a directory as DIR/. (its deletions go too), and nothing for a time to come', async () => {
    const root = mkdtempSync(join(tmpdir(), 'vs-changed-'));
    dirs.push(root);
    mkdirSync(join(root, 'a/b'), { recursive: true });
    mkdirSync(join(root, 'c'));
    for (const f of ['a/x', 'a/b/z', 'c/w', 'c/line\nbreak']) writeFileSync(join(root, f), 'old\n');
    // nothing changes after a moment still to come
    expect(await changedSince(root, Date.now() + 5000)).toEqual([]);
    const since = Date.now();
    unlinkSync(join(root, 'a/x'));
    writeFileSync(join(root, 'c/w'), 'new\n');
    mkdirSync(join(root, 'd'));
    writeFileSync(join(root, 'd/n'), 'new\n');
    const listed = await changedSince(root, since);
    // a/. carries the deletion of a/x; . the new d; names are whole, newlines and all
    expect(listed).toEqual(expect.arrayContaining(['.', 'a/.', 'c/w', 'd/.', 'd/n']));
    expect(listed).not.toContain('a/x');
    expect((await changedSince(root, Date.now() + 5000)).length).toBe(0);
    expect(await changedSince(root, since - 60_000)).toEqual(expect.arrayContaining(['a/b/z', 'c/line\nbreak']));
  });

  it.skipIf(process.getuid?.() !== 0)(
    'finds device nodes, which a user namespace cannot make, and takes an overlay whiteout for none',
    async () => {
      const root = mkdtempSync(join(tmpdir(), 'vs-devices-'));
      dirs.push(root);
      mkdirSync(join(root, 'dev'));
      execFileSync('mknod', [join(root, 'gone'), 'c', '0', '0']);
      expect(await holdsDeviceNodes(root)).toBe(false);
      execFileSync('mknod', [join(root, 'dev/null'), 'c', '1', '3']);
      expect(await holdsDeviceNodes(root)).toBe(true);
    },
  );
});
