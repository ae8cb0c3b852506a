// vserver check --escape: every attempt refused in throw-away guests with this host's defaults; the
// same attempts get through in one with a weakened config; nothing left behind, also when killed.
import { readdirSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

interface Row {
  attempt: string;
  result: string;
  detail: string;
}
interface Run {
  mode: string;
  like?: string;
  rows: Row[];
}

describe.skipIf(!IS_ROOT)('vserver check --escape', () => {
  const t = new TestRoot('check-escape');
  afterAll(() => t.cleanup());
  afterEach(async () => {
    // whatever a test left: its throw-away guests and the runtime's state are gone
    expect(await t.leaks()).toEqual([]);
  });

  const guestDirs = () => {
    try {
      return readdirSync(t.paths.guestsDir);
    } catch {
      return [];
    }
  };
  const escapeGuests = () => guestDirs().filter((n) => n.startsWith('escape-check-'));

  it('refuses every attempt in an unprivileged and a privileged guest, prints the table, and removes the guests', async () => {
    const r = await t.cli(['check', '--escape', '--privileged']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^attempt +mode +result +what refused it$/m);
    expect(r.stdout).toMatch(/^mount a filesystem +unprivileged +blocked +EPERM mount tmpfs$/m);
    expect(r.stdout).toMatch(/^open a host file by handle \("shocker"\) +privileged +blocked +E\w+ open_by_handle_at$/m);
    expect(r.stdout).toMatch(/^OK {4}escape attempts: every one was refused$/m);
    const j = await t.cli(['check', '--escape', '--privileged', '--json']);
    const runs = (JSON.parse(j.stdout) as { escape: Run[] }).escape;
    expect(runs.map((x) => x.mode)).toEqual(['unprivileged', 'privileged']);
    for (const run of runs) {
      expect(run.rows.length).toBe(20);
      expect(run.rows.filter((x) => x.result !== 'blocked' && x.result !== 'skipped')).toEqual([]);
      expect(run.rows.filter((x) => x.result === 'blocked').length).toBeGreaterThan(12);
    }
    expect(guestDirs()).toEqual([]);
    expect((await t.ok(['list', '--json'])).trim()).toBe('[]');
  });

  it('fails against a privileged guest with SYS_ADMIN added, naming the attempts that got through', async () => {
    await t.ok(['build', 'weak', '--privileged']);
    await t.ok(['config', 'weak', 'security.capabilities.add', '["SYS_ADMIN"]']);
    try {
      const j = await t.cli(['check', '--escape', '--like', 'weak', '--json']);
      expect(j.code).toBe(1);
      const [run] = (JSON.parse(j.stdout) as { escape: Run[] }).escape;
      const through = run!.rows.filter((x) => x.result === 'ESCAPED').map((x) => x.attempt);
      expect(through).toEqual(
        expect.arrayContaining(['mount a filesystem', 'remount a read-only path read-write', 'write /proc/sys/kernel/core_pattern']),
      );
      const r = await t.cli(['check', '--escape', '--like', 'weak']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^mount a filesystem +like weak +ESCAPED +got through: mounted tmpfs$/m);
      expect(r.stdout).toMatch(
        /^FAIL {2}escape attempts that got through: .*mount a filesystem, remount a read-only path read-write, write \/proc\/sys\/kernel\/core_pattern/m,
      );
      expect(guestDirs()).toEqual(['weak']); // the guest it copied is left as it was
    } finally {
      await t.ok(['delete', 'weak']);
    }
  });

  it('refuses its options without --escape, and a guest to copy that does not exist, building nothing', async () => {
    const r = await t.cli(['check', '--privileged']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--privileged and --like only choose the guest of --escape\n +add --escape/);
    const missing = await t.cli(['check', '--escape', '--like', 'nosuch']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/guest 'nosuch' not found/);
    expect(guestDirs()).toEqual([]);
  });

  for (const [signal, after] of [
    ['SIGTERM', 'removes its guest itself'],
    ['SIGKILL', 'leaves a guest that gc removes'],
  ] as const) {
    it(`killed with ${signal} while its guest runs, ${after}`, async () => {
      // the command stops itself with the signal once its guest runs
      const r = await t.cli(['check', '--escape'], { env: { VSERVER_CRASH_AT: 'check-escape:running', VSERVER_CRASH_SIGNAL: signal } });
      const code = r.code;
      if (signal === 'SIGTERM') {
        expect(code).toBe(143);
        expect(escapeGuests()).toEqual([]);
      } else {
        expect(code).toBe(137);
        expect(escapeGuests()).toHaveLength(1);
        const gc = await t.ok(['gc']);
        expect(gc).toMatch(/removed guest escape-check-\d+-\d+ of a check --escape that died/);
        expect(escapeGuests()).toEqual([]);
      }
    }, 120_000);
  }
});
