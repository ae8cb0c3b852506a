// The one way a guest's config changes: edits by key or by whole text, versions, and errors that point at the line;
// the limits the schema types are shown and written back in the user's own words.
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { ConfigError } from '../../src/guest/config.js';
import { LIMIT_KEYS, limitExample, limitExamples, limitKeyPath } from '../../src/guest/limit-keys.js';
import { keyLine } from '../../src/guest/toml-lines.js';
import { VsError } from '../../src/util/errors.js';
import { fakeHostFacts, FakeCgroups, FakeLxcfs, FakeRuntime } from '../helpers/fake-runtime.js';

let root: string;
let rt: FakeRuntime;
let engine: Engine;
const file = () => join(root, 'etc/vserver/guests/web1.toml');
const text = () => readFileSync(file(), 'utf8');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const START = '# the web server\ncontext = 100\ninit = "cmd"\ncmd = ["/bin/sh"]\n';

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vsce-'));
  chmodSync(root, 0o755);
  rt = new FakeRuntime();
  engine = new Engine(root, { runtime: rt, cgroups: new FakeCgroups(), hostFacts: fakeHostFacts, lxcfs: new FakeLxcfs() });
  mkdirSync(join(root, 'etc/vserver/guests'), { recursive: true });
  writeFileSync(file(), START);
  mkdirSync(join(root, 'var/lib/vserver/guests/web1/rootfs'), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function caught(p: Promise<unknown>): Promise<VsError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof VsError)) throw new Error(`expected a VsError, got ${String(e)}`);
  return e;
}

describe('config documents and edits', () => {
  it('reads the text with its version, the sha256 of the bytes on disk', async () => {
    const d = await engine.configDocument('web1');
    expect(d).toMatchObject({ text: START, version: sha(START), config: { context: 100, init: 'cmd' } });
  });

  it('sets and removes keys (null removes), and returns the version of what it wrote', async () => {
    const r = await engine.editConfig('web1', { set: { stop_timeout: 10, 'limits.memory.max': '256M', hostname: 'www' } });
    expect(r.version).toBe(sha(text()));
    expect(text()).toMatch(/stop_timeout = 10/);
    expect(await engine.configKey('web1', 'limits.memory.max')).toBe('256M');
    await engine.editConfig('web1', { set: { hostname: null } });
    expect((await engine.config('web1')).hostname).toBeUndefined();
    expect((await caught(engine.configKey('web1', 'hostname'))).code).toBe('NOT_FOUND');
  });

  it('writes whole text as given, comments kept, and refuses a stale version with nothing changed', async () => {
    const { version } = await engine.configDocument('web1');
    const next = `${START}# stop quickly\nstop_timeout = 5\n`;
    const r = await engine.editConfig('web1', { text: next }, { ifVersion: version });
    expect(text()).toBe(next);
    expect(r.version).toBe(sha(next));
    const stale = await caught(engine.editConfig('web1', { text: START }, { ifVersion: version }));
    expect(stale.code).toBe('CONFLICT');
    expect(stale.message).toMatch(/changed since version/);
    expect(stale.exitCode).toBe(29);
    expect(stale.httpStatus).toBe(412);
    expect(text()).toBe(next);
  });

  it('names the key and the line of a bad value or bad syntax in text, and writes nothing', async () => {
    const bad = await caught(engine.editConfig('web1', { text: `${START}\n[limits.memory]\nmax = "lots"\n` }));
    expect(bad).toBeInstanceOf(ConfigError);
    expect(bad.code).toBe('CONFIG_INVALID');
    expect(bad.message).toMatch(/key 'limits.memory.max' must be a size such as 512M/);
    expect((bad as ConfigError).where).toEqual({ key: 'limits.memory.max', line: 7 });
    const unknown = await caught(engine.editConfig('web1', { text: `${START}colour = "red"\n` }));
    expect((unknown as ConfigError).where).toEqual({ key: 'colour', line: 5 });
    const syntax = await caught(engine.editConfig('web1', { text: 'context = 100\ninit = \n' }));
    expect(syntax.message).toMatch(/not valid TOML \(line 2/);
    expect((syntax as ConfigError).where).toEqual({ line: 2 });
    const keyed = await caught(engine.editConfig('web1', { set: { stop_timeout: -1 } }));
    expect((keyed as ConfigError).where).toEqual({ key: 'stop_timeout' });
    expect((await caught(engine.editConfig('web1', { set: { 'limits..max': 1 } }))).code).toBe('USAGE');
    expect(text()).toBe(START);
  });

  it('refuses keys fixed at build and two owner changes at once, by key or by text', async () => {
    expect((await caught(engine.editConfig('web1', { text: `${START}isolated = true\n` }))).message).toMatch(
      /isolated is fixed when the guest is built/,
    );
    const both = await caught(engine.editConfig('web1', { text: START.replace('100', '200') + 'privileged = true\n' }));
    expect(both.message).toMatch(/context and privileged cannot change in one edit/);
    expect(text()).toBe(START);
  });
});

describe('limits in one edit', () => {
  it('sets several limits at once, or on any bad one none of them', async () => {
    const r = await engine.setLimits('web1', [
      ['memory.max', '256M'],
      ['pids.max', '100'],
    ]);
    expect(r).toMatchObject({
      live: false,
      changes: [
        { key: 'memory.max', value: '256M' },
        { key: 'pids.max', value: 100 },
      ],
    });
    expect(r.version).toBe(sha(text()));
    const before = text();
    const e = await caught(
      engine.setLimits('web1', [
        ['memory.max', '512M'],
        ['pids.max', 'lots'],
      ]),
    );
    expect(e.code).toBe('INVALID_VALUE');
    expect(e.message).toMatch(/cannot set memory.max to '512M', pids.max to 'lots': pids.max must be a whole number/);
    expect(
      (
        await caught(
          engine.setLimits('web1', [
            ['memory.max', '512M'],
            ['disk.max', '1G'],
          ]),
        )
      ).code,
    ).toBe('USAGE');
    expect((await caught(engine.setLimits('web1', [['memory.max', '512M']], { ifVersion: sha('other') }))).code).toBe('CONFLICT');
    expect(text()).toBe(before);
  });

  it('knows every limit key from one table, with an example that fits', () => {
    expect(LIMIT_KEYS).toContain('io.read_bps.DEV');
    expect(limitKeyPath('io.write_iops.8:0')).toEqual(['io', 'write_iops', '8:0']);
    expect(limitKeyPath('rlimits.nosuch')).toBeUndefined();
    expect(limitExample('rlimits.memlock')).toBe('64M');
    expect(limitExample('rlimits.nofile')).toBe('1024:4096');
    expect(limitExamples('w')).toContain('vserver limit w io.read_bps./dev/sda 50M');
    expect(limitExamples('w')).toHaveLength(LIMIT_KEYS.length);
  });
});

describe('keyLine', () => {
  const t = 'context = 100\n# c\n[limits.memory]\nmax = "x"\n[[interfaces]]\nmode = "bridge"\n[[interfaces]]\naddress = "1"\n';
  it('finds keys in tables, arrays of tables, dotted and inline forms', () => {
    expect(keyLine(t, ['context'])).toBe(1);
    expect(keyLine(t, ['limits', 'memory', 'max'])).toBe(4);
    expect(keyLine(t, ['limits', 'memory', 'high'])).toBe(3);
    expect(keyLine(t, ['interfaces', 1, 'address'])).toBe(8);
    expect(keyLine(t, ['nope'])).toBeUndefined();
    expect(keyLine('limits = { pids = { max = 1 } }\n', ['limits', 'pids', 'max'])).toBe(1);
    expect(keyLine('[limits]\n"pids" . max = "a"\n', ['limits', 'pids', 'max'])).toBe(2);
  });
});

/** Every key whose value the schema types, each in a spelling that its typed value would not keep. */
const LIMITS = `[limits.memory]
max = "512M"
high = "384m"
swap = "1G"

[limits.cpu]
max = "1.5"
cpuset = "0"

[limits.pids]
max = "max"

[limits.io.read_bps]
"/dev/vda" = "10M"

[limits.io.write_iops]
"/dev/vda" = "500"

[limits.rlimits]
nofile = "1024:4096"
memlock = [ "64M", "unlimited" ]
core = "unlimited"
`;
const WORDS = (parseToml(LIMITS) as { limits: Record<string, unknown> }).limits;
const TYPED_START = `context = 100\ninit = "cmd"\ncmd = ["/bin/sh"]\nprivileged = true\n\n${LIMITS}`;

const fileOf = (name: string) => join(root, `etc/vserver/guests/${name}.toml`);
const limitsIn = (name = 'web1') => (parseToml(readFileSync(fileOf(name), 'utf8')) as { limits?: unknown }).limits;

describe("the user's words in a config whose limits the schema types", () => {
  beforeEach(() => writeFileSync(file(), TYPED_START));

  it('reads typed values for the limits it puts in force', async () => {
    await engine.start('web1');
    expect(rt.containers.get('web1')!.spec.linux?.resources?.memory?.limit).toBe(512 * 2 ** 20);
    const cfg = engine.deps.store.read('web1');
    expect(cfg.limits?.memory?.max).toBe(512 * 2 ** 20);
    expect(cfg.limits?.cpu?.cpuset).toEqual([0]);
    expect(cfg.limits?.rlimits?.memlock).toEqual({ soft: 64 * 2 ** 20, hard: Infinity });
  });

  it('shows them as written: one key, the whole config, the document and the limits', async () => {
    expect(await engine.configKey('web1', 'limits.memory.max')).toBe('512M');
    expect(await engine.configKey('web1', 'limits.cpu.cpuset')).toBe('0');
    expect(await engine.configKey('web1', 'limits.rlimits.memlock')).toEqual(['64M', 'unlimited']);
    expect((await engine.config('web1')).limits).toEqual(WORDS);
    expect((await engine.configDocument('web1')).config.limits).toEqual(WORDS);
    expect(await engine.limits('web1')).toEqual(WORDS);
  });

  it('writes them back as written after an edit by key, by text and by `vserver limit`', async () => {
    await engine.editConfig('web1', { set: { hostname: 'www' } });
    expect(limitsIn()).toEqual(WORDS);
    expect(readFileSync(file(), 'utf8')).toMatch(/^max = "512M"$/m);
    expect((await engine.setConfig('web1', 'stop_timeout', 5)).limits).toEqual(WORDS);
    expect(limitsIn()).toEqual(WORDS);

    const l = await engine.setLimit('web1', 'cpu.weight', '50');
    const cpu = { ...(WORDS.cpu as object), weight: 50 };
    expect(l.limits).toEqual({ ...WORDS, cpu });
    expect(limitsIn()).toEqual({ ...WORDS, cpu });

    const text = `${TYPED_START.replace('context = 100', 'context = 100\nhostname = "w"')}`;
    await engine.editConfig('web1', { text });
    expect(readFileSync(file(), 'utf8')).toBe(text);
  });

  it('gives a clone the words of the guest it copies', async () => {
    await engine.build('copy', { source: { kind: 'clone', guest: 'web1' } });
    expect(limitsIn('copy')).toEqual(WORDS);
    expect(readFileSync(fileOf('copy'), 'utf8')).toMatch(/^cpuset = "0"$/m);
  });

  it('writes an imported util-vserver guest in the words of the translation', async () => {
    const conf = join(root, 'legacy/web1');
    cpSync(join(__dirname, '../fixtures/legacy/web1'), conf, { recursive: true });
    mkdirSync(join(root, 'legacy-tree/etc'), { recursive: true });
    symlinkSync(join(root, 'legacy-tree'), join(conf, 'vdir'));
    await engine.importLegacy(conf, { privileged: true, name: 'old1' });
    // as translated: a cpuset and a "SOFT:HARD" rlimit stay text, a size counted in pages is bytes
    expect(limitsIn('old1')).toEqual({
      pids: { max: 200 },
      rlimits: { nofile: '1024:4096' },
      memory: { max: 268435456 },
      cpu: { shares: 512, cpuset: '0' },
    });
  });
});
