// Files vserver reads back are checked against a schema: a damaged or hostile one gets an error
// that names the file and the field, never a half-trusted value.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { readNetState } from '../../src/engine/network-state.js';
import { teardown } from '../../src/engine/teardown.js';
import { FORMAT, HEADER_MEMBER, readExportHeader } from '../../src/storage/archive.js';
import { fileMember } from '../../src/storage/tar/header.js';
import { checkJson } from '../../src/util/json.js';
import { fakeHostFacts, FakeCgroups, FakeLxcfs, FakeRuntime } from '../helpers/fake-runtime.js';
import { Programs } from '../helpers/programs.js';

let root: string;
let programs: Programs | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vse-read-'));
});
afterEach(() => {
  programs?.dispose();
  programs = undefined;
  rmSync(root, { recursive: true, force: true });
});

/** An engine on the test's root, with fakes for the runtime and the host. */
const fakeEngine = () =>
  new Engine(root, { runtime: new FakeRuntime(), cgroups: new FakeCgroups(), hostFacts: fakeHostFacts, lxcfs: new FakeLxcfs() });

const plan = {
  guest: 'g1',
  context: 100,
  netns: '/run/vserver/netns/g1',
  interfaces: [
    {
      index: 0,
      name: 'eth0',
      mode: 'bridge',
      hostDevice: 'vabc-100-0',
      bridge: 'vsbr0',
      addresses: ['10.47.0.100/16'],
      gateways: ['10.47.0.1'],
      nat: false,
      ports: [],
    },
  ],
  bridges: [{ name: 'vsbr0', create: true, addAddresses: ['10.47.0.1/16'] }],
  forwarding: { v4: false, v6: false },
};

describe('the network state file', () => {
  function engineWithState(text: string): Engine {
    mkdirSync(join(root, 'run/vserver/net'), { recursive: true });
    writeFileSync(join(root, 'run/vserver/net/g1.json'), text);
    return fakeEngine();
  }

  it('is read back as written', () => {
    const engine = engineWithState(JSON.stringify(plan));
    expect(readNetState(engine.deps, 'g1')).toEqual(plan);
  });

  it('gives a clear error when damaged, and teardown runs no ip line made from it', async () => {
    programs = new Programs(() => ({ code: 0, stdout: '[]' }));
    const cases: [string, RegExp][] = [
      ['{"guest": "g1", "interfa', /network state .*g1\.json is damaged: it is not JSON/],
      [JSON.stringify({ ...plan, bridges: 'vsbr0' }), /g1\.json is damaged: 'bridges': Invalid type: Expected Array/],
      // a device name that would add a line of its own to an ip batch
      [
        JSON.stringify({ ...plan, bridges: [{ name: 'vsbr0\nlink del dev eth0', create: true, addAddresses: [] }] }),
        /'bridges\.0\.name': must be a network device name/,
      ],
      [
        JSON.stringify({ ...plan, interfaces: [{ ...plan.interfaces[0], addresses: ['10.0.0.1/8 dev eth0'] }] }),
        /'interfaces\.0\.addresses\.0': must be ADDRESS\/PREFIX/,
      ],
    ];
    for (const [text, message] of cases) {
      const engine = engineWithState(text);
      expect(() => readNetState(engine.deps, 'g1')).toThrow(message);
      const problems = await teardown(engine.deps, 'g1');
      expect(problems.join('\n')).toMatch(message);
    }
    expect(programs.calls.filter((c) => c.input.includes('link del'))).toEqual([]);
  });
});

describe('an export header', () => {
  function exportWith(header: unknown): string {
    const file = join(root, 'x.vsx');
    const tar = Buffer.concat([fileMember(HEADER_MEMBER, Buffer.from(JSON.stringify(header))), Buffer.alloc(1024)]);
    writeFileSync(file, execFileSync('zstd', ['-q', '-c'], { input: tar }));
    return file;
  }

  it('is accepted when every field is there', async () => {
    const { header, tar } = await readExportHeader(
      exportWith({ format: FORMAT, name: 'web', config: 'context = 5\n', exported: '2026-01-01T00:00:00Z' }),
    );
    tar.kill();
    expect(header.name).toBe('web');
  });

  it('is refused with the field that is wrong', async () => {
    await expect(readExportHeader(exportWith({ format: 'vserver-export/9', name: 'web', config: '', exported: '' }))).rejects.toThrow(
      /is not a vserver export: vserver-export\.json: 'format': must be "vserver-export\/1"/,
    );
    await expect(readExportHeader(exportWith({ format: FORMAT, name: 7, config: '', exported: '' }))).rejects.toThrow(
      /'name': Invalid type: Expected string but received 7/,
    );
    await expect(readExportHeader(exportWith({ format: FORMAT, name: 'web', exported: '' }))).rejects.toThrow(/'config': Invalid key/);
  });
});

describe('checkJson', () => {
  it('says what is wrong with the text', async () => {
    const v = await import('valibot');
    const s = v.object({ pid: v.number() });
    expect(checkJson(s, '{"pid": 5}')).toEqual({ ok: true, value: { pid: 5 } });
    expect(checkJson(s, '{"pid": "5"}')).toEqual({ ok: false, why: '\'pid\': Invalid type: Expected number but received "5"' });
    expect(checkJson(s, 'pid=5')).toMatchObject({ ok: false, why: expect.stringMatching(/^it is not JSON/) });
  });
});

describe('a migration record', () => {
  const write = (name: string, text: string) => {
    mkdirSync(join(root, 'run/vserver/migrations'), { recursive: true });
    writeFileSync(join(root, `run/vserver/migrations/${name}.json`), text);
  };

  it('that is damaged is removed by gc, which says why, and counts as a freeze until then', async () => {
    const engine = fakeEngine();
    const { migrationLeft } = await import('../../src/engine/migrate-record.js');
    // a process that is gone: its start time is not that of any running process
    write('m1', JSON.stringify({ pid: 2 ** 22 + 1, start: '1', dest: 'b', phase: 'flying' }));
    write('m2', '{"pid": 1, "sta');
    write('m3', JSON.stringify({ pid: 2 ** 22 + 1, start: '1', dest: 'b', phase: 'copying' }));
    expect(migrationLeft(engine.deps, 'm1')).toBe(true);
    const reports = await engine.gc();
    const removed = (name: string) => reports.filter((r) => r.guest === name).flatMap((r) => r.removed);
    expect(removed('m1')).toEqual([expect.stringMatching(/damaged migration record .*m1\.json \('phase': Invalid type: Expected/)]);
    expect(removed('m2')).toEqual([expect.stringMatching(/damaged migration record .*m2\.json \(it is not JSON/)]);
    expect(removed('m3')).toEqual(['the record of an interrupted migration to b']);
    expect(migrationLeft(engine.deps, 'm1')).toBe(false);
  });
});

describe("a running guest's bundle", () => {
  it('that is damaged stops a limit change with the file and what to do, and the config keeps its old value', async () => {
    const engine = fakeEngine();
    const conf = join(root, 'etc/vserver/guests/web1.toml');
    mkdirSync(join(root, 'etc/vserver/guests'), { recursive: true });
    mkdirSync(join(root, 'var/lib/vserver/guests/web1/rootfs'), { recursive: true });
    chmodSync(root, 0o755); // an unprivileged guest's root must pass through it
    writeFileSync(conf, 'context = 100\ninit = "cmd"\ncmd = ["/bin/sh"]\n');
    await engine.start('web1');
    const bundle = join(root, 'run/vserver/bundles/web1/config.json');
    expect(JSON.parse(readFileSync(bundle, 'utf8')).process.rlimits).toBeDefined();
    writeFileSync(bundle, JSON.stringify({ ociVersion: '1.0.2', process: 'none' }));
    const e = await engine.setLimit('web1', 'rlimits.nofile', '2048:4096').catch((x: unknown) => x);
    expect(e).toMatchObject({
      code: 'RUNTIME_FAILED',
      message: expect.stringMatching(/bundles\/web1\/config\.json of guest 'web1' is damaged: 'process'/),
    });
    expect(readFileSync(conf, 'utf8')).not.toMatch(/nofile/);
  });
});
