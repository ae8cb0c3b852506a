// The guest index: list, stat, ps and top read each config's summary from it, so it must never
// show a config as it was before another process changed it, nor hide a broken one.
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseGuestConfig } from '../../src/guest/config.js';
import { GuestIndex } from '../../src/guest/guest-index.js';
import { GuestStore } from '../../src/guest/store.js';
import { Engine } from '../../src/engine/index.js';
import { Paths } from '../../src/util/paths.js';
import { fakeHostFacts, FakeCgroups, FakeLxcfs, FakeRuntime } from '../helpers/fake-runtime.js';

let root: string;
let paths: Paths;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vse-index-'));
  paths = new Paths(root);
  mkdirSync(paths.guestConfigDir, { recursive: true });
  mkdirSync(paths.run, { recursive: true });
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const writeConfig = (name: string, text: string) => writeFileSync(paths.guestConfig(name), text);
/** Another process's change of a config, made the way the tools make it: a new file renamed over the old. */
const replaceConfig = (name: string, text: string) => {
  writeFileSync(`${paths.guestConfig(name)}.new`, text);
  renameSync(`${paths.guestConfig(name)}.new`, paths.guestConfig(name));
};

/** An index that trusts a file at once (settled after 0 ms), and counts the configs it had to parse. */
function countingIndex(settledMs = 0) {
  const parsed: string[] = [];
  const index = new GuestIndex(paths.guestIndex, 'test', settledMs);
  const names = () => new GuestStore(paths).names();
  const read = () =>
    index.summaries(
      names(),
      (n) => paths.guestConfig(n),
      (file, text) => {
        parsed.push(file.slice(file.lastIndexOf('/') + 1));
        return parseGuestConfig(file, text);
      },
    );
  return { index, parsed, read };
}

describe('the guest index', () => {
  it('gives what the configs say, and parses only what changed since it was written', () => {
    writeConfig('a', 'context = 100\n');
    writeConfig('b', 'context = 101\nhostname = "bee"\nmark = "web"\n[[interfaces]]\nmode = "bridge"\naddress = "10.47.0.9/16"\n');
    const first = countingIndex();
    expect(first.read()).toEqual([
      { name: 'a', summary: { context: 100, init: 'plain', backend: 'dir', privileged: false } },
      {
        name: 'b',
        summary: {
          context: 101,
          hostname: 'bee',
          init: 'plain',
          backend: 'dir',
          mark: 'web',
          privileged: false,
          interfaces: [{ mode: 'bridge', address: '10.47.0.9/16' }],
        },
      },
    ]);
    expect(first.parsed).toEqual(['a.toml', 'b.toml']);
    // another process (a new index object) reads the file the first one wrote
    const second = countingIndex();
    expect(second.read()).toEqual(first.read());
    expect(second.parsed).toEqual([]);
  });

  it('sees a config that another process changed, added or removed', () => {
    writeConfig('a', 'context = 100\n');
    writeConfig('b', 'context = 101\n');
    countingIndex().read();
    replaceConfig('a', 'context = 200\n');
    writeConfig('b', 'context = 7777\n'); // changed in place, and grown
    writeConfig('c', 'context = 102\n');
    const later = countingIndex();
    expect(later.read().map((g) => [g.name, g.summary?.context])).toEqual([
      ['a', 200],
      ['b', 7777],
      ['c', 102],
    ]);
    expect(later.parsed).toEqual(['a.toml', 'b.toml', 'c.toml']);
    rmSync(paths.guestConfig('b'));
    expect(
      countingIndex()
        .read()
        .map((g) => g.name),
    ).toEqual(['a', 'c']);
    expect(Object.keys(JSON.parse(readFileSync(paths.guestIndex, 'utf8')).guests)).toEqual(['a', 'c']);
  });

  it('does not trust a file changed within the last second: a change in the same timestamp tick would keep its key', () => {
    writeConfig('a', 'context = 100\n');
    const idx = countingIndex(1000);
    idx.read();
    idx.read();
    expect(idx.parsed).toEqual(['a.toml', 'a.toml']);
    // an old modification time does not make it settled: its inode changed just now
    utimesSync(paths.guestConfig('a'), new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    idx.read();
    expect(idx.parsed).toHaveLength(3);
  });

  it('gives a broken config the error that reading it gives, also one that was fine when indexed', () => {
    writeConfig('a', 'context = 100\n');
    countingIndex().read();
    writeConfig('a', 'context = "x"\n');
    const [r] = countingIndex().read();
    let readError: unknown;
    try {
      new GuestStore(paths).read('a');
    } catch (e) {
      readError = e;
    }
    expect(r?.summary).toBeUndefined();
    expect(r?.error?.message).toBe((readError as Error).message);
    expect(r?.error?.message).toMatch(/a\.toml: key 'context': expected number/);
  });

  it('makes a damaged index, or one written by another version, again from the configs', () => {
    writeConfig('a', 'context = 100\n');
    countingIndex().read();
    for (const damage of [
      '{"format":1,"version":"test","guests":{"a":{"key":',
      '[]',
      '{"format":1,"version":"test","guests":{"a":{"key":"1:2:3:4","summary":{"context":"x"}}}}',
      '{"format":1,"version":"test","guests":{"a":{"key":"1:2:3:4","summary":{"context":1,"init":"plain","backend":"dir","privileged":false,"interfaces":[{"mode":"warp"}]}}}}',
    ]) {
      writeFileSync(paths.guestIndex, damage);
      const idx = countingIndex();
      expect(idx.read().map((g) => g.summary?.context)).toEqual([100]);
      expect(idx.parsed).toEqual(['a.toml']);
      expect(JSON.parse(readFileSync(paths.guestIndex, 'utf8')).guests.a.summary.context).toBe(100);
    }
    const other = new GuestIndex(paths.guestIndex, 'another version', 0);
    const parsed: string[] = [];
    other.summaries(
      ['a'],
      (n) => paths.guestConfig(n),
      (f, t) => {
        parsed.push(f);
        return parseGuestConfig(f, t);
      },
    );
    expect(parsed).toEqual([paths.guestConfig('a')]);
  });

  it('still answers when the index cannot be written, and makes no run directory for it', () => {
    writeConfig('a', 'context = 100\n');
    mkdirSync(paths.guestIndex); // a directory where the file goes: every write fails
    expect(
      countingIndex()
        .read()
        .map((g) => g.summary?.context),
    ).toEqual([100]);
    rmSync(paths.run, { recursive: true });
    expect(
      countingIndex()
        .read()
        .map((g) => g.summary?.context),
    ).toEqual([100]);
    expect(() => readFileSync(paths.guestIndex)).toThrow(/ENOENT/);
  });

  it('is what list shows: a config changed by another process is listed as it is now', async () => {
    writeConfig('a', 'context = 100\nhostname = "one"\n');
    const engine = new Engine(root, {
      runtime: new FakeRuntime(),
      cgroups: new FakeCgroups(),
      hostFacts: fakeHostFacts,
      lxcfs: new FakeLxcfs(),
    });
    expect((await engine.list()).map((g) => [g.name, g.context, g.hostname])).toEqual([['a', 100, 'one']]);
    replaceConfig('a', 'context = 101\nhostname = "two"\n');
    writeConfig('b', 'context = "x"\n');
    const now = await engine.list();
    expect(now.map((g) => [g.name, g.context, g.state])).toEqual([
      ['a', 101, 'stopped'],
      ['b', 0, 'broken'],
    ]);
    expect(now[0]?.hostname).toBe('two');
  });
});
