// Fuzzing the two parsers that take input from people: the config files and the command line.
// Every malformed input must end in a clear VsError: never a crash, never a file written.
// CI runs a fixed seed; `npm run fuzz` runs many more inputs with a fresh seed.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, it, vi } from 'vitest';
import { parseArgv } from '../../src/cli/argv.js';
import { main } from '../../src/cli/main.js';
import { VERB_MAP, VERBS } from '../../src/cli/verbs.js';
import { Engine } from '../../src/engine/index.js';
import { parseGuestConfig, parseHostConfig, toToml } from '../../src/guest/config.js';
import { VsError } from '../../src/util/errors.js';
import { FakeCgroups, FakeRuntime } from '../helpers/fake-runtime.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261129);
const params = { numRuns: RUNS, seed: SEED };
const FILE = '/etc/vserver/guests/fuzz.toml';

/** The property: it either works, or fails with a VsError of the expected code and a one-line message. */
function clearError(fn: () => unknown, codes: string[]): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (!(e instanceof VsError)) throw new Error(`not a clear error: ${String(e)}`);
    if (!codes.includes(e.code)) throw new Error(`unexpected code ${e.code}: ${e.message}`);
    if (e.message.length === 0 || (e.hint ?? '').length === 0) throw new Error(`error without message or hint: ${e.code}`);
    return true;
  }
}

const KEYS = [
  'context',
  'hostname',
  'init',
  'cmd',
  'stop_signal',
  'stop_timeout',
  'backend',
  'template',
  'mark',
  'start_order',
  'env',
  'privileged',
  'security',
  'colour',
  'limits',
  '',
];
const tomlValue = fc.oneof(
  fc.integer({ min: -1e6, max: 1e6 }).map(String),
  fc.double({ noNaN: false }).map(String),
  fc.string().map((s) => JSON.stringify(s)),
  fc.boolean().map(String),
  fc.constant('[1, "a"]'),
  fc.constant('{ add = ["FLY"] }'),
  fc.constant('1979-05-27T07:32:00Z'),
  fc.string(),
  fc.constant('"cmd"'),
);
const tomlLine = fc.tuple(fc.constantFrom(...KEYS), tomlValue).map(([k, v]) => `${k} = ${v}`);
const tomlDoc = fc.oneof(
  fc.array(tomlLine, { maxLength: 8 }).map((ls) => ls.join('\n')),
  fc
    .array(fc.oneof(tomlLine, fc.constantFrom('[security]', '[env]', '[[x]]', '[security.capabilities]')), { maxLength: 10 })
    .map((ls) => ls.join('\n')),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }).map((o) => {
    try {
      return toToml(o as Record<string, unknown>);
    } catch {
      return 'x = ';
    }
  }),
);

describe('config parser fuzzing', () => {
  it(`ends ${RUNS} malformed guest configs in clear errors`, () => {
    fc.assert(
      fc.property(tomlDoc, (text) => clearError(() => parseGuestConfig(FILE, text), ['CONFIG_INVALID'])),
      params,
    );
  });

  it(`ends ${RUNS} malformed host configs in clear errors`, () => {
    fc.assert(
      fc.property(tomlDoc, (text) => clearError(() => parseHostConfig('/etc/vserver/vserver.toml', text), ['CONFIG_INVALID'])),
      params,
    );
  });
});

const verbs = VERBS.map((v) => v.name);
const token = fc.oneof(
  fc.constantFrom(...verbs),
  fc.constantFrom(
    'web1',
    '../x',
    'UP',
    '',
    '-',
    '--',
    '-x',
    '--json',
    '--root',
    '--timeout',
    '--timeout=x',
    '--force',
    '--help',
    '--context',
    '--init',
    'x'.repeat(70),
    '--root=/nonexistent',
  ),
  fc.string({ maxLength: 20 }),
);

describe('argument parser fuzzing', () => {
  it(`ends ${RUNS} random command lines in a parse or a clear usage error`, () => {
    fc.assert(
      fc.property(fc.array(token, { maxLength: 8 }), (argv) => clearError(() => parseArgv(argv, VERB_MAP), ['USAGE'])),
      params,
    );
  });

  const roots: string[] = [];
  afterAll(() => {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  it('writes nothing for malformed command lines run through the whole CLI', async () => {
    const root = mkdtempSync(join(tmpdir(), 'vsfuzz-'));
    roots.push(root);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    // each input has one sure defect: an unknown option, a bad name, a bad number or an unknown verb
    const defect = fc.constantFrom(['--no-such-option'], ['--timeout', 'soon'], ['Bad/Name'], ['../etc']);
    const line = fc
      .tuple(fc.constantFrom(...verbs.filter((v) => v !== 'list')), defect, fc.array(token, { maxLength: 3 }))
      .map(([v, d, rest]) => (d[0]!.startsWith('-') ? [v, 'g1', ...d, ...rest] : [v, ...d, ...rest]));
    try {
      await fc.assert(
        fc.asyncProperty(line, async (argv) => {
          // help and version are answers, not errors; the root is always the test's own
          const code = await main([...argv.filter((a) => !/^--(root|help|version)/.test(a) && a !== '-h' && a !== '-V'), '--root', root]);
          return code !== 0 && readdirSync(root).length === 0;
        }),
        { numRuns: Math.min(RUNS, 2000), seed: SEED },
      );
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  }, 120_000); // 2,000 runs of the whole CLI: far over vitest's 5 s default on a loaded machine
});

describe('config command fuzzing', () => {
  it('leaves the config file untouched for every value it refuses', async () => {
    const root = mkdtempSync(join(tmpdir(), 'vsfuzz-'));
    try {
      const engine = new Engine(root, { runtime: new FakeRuntime(), cgroups: new FakeCgroups() });
      mkdirSync(join(root, 'etc/vserver/guests'), { recursive: true });
      mkdirSync(join(root, 'var/lib/vserver/guests/g1/rootfs'), { recursive: true });
      const file = join(root, 'etc/vserver/guests/g1.toml');
      const original = 'context = 100\ninit = "plain"\n';
      writeFileSync(file, original);
      const key = fc.constantFrom(
        'context',
        'init',
        'cmd',
        'stop_timeout',
        'security.capabilities.add',
        'env.1X',
        'privileged',
        'colour',
        'security.seccomp_profile',
        'hostname',
      );
      await fc.assert(
        fc.asyncProperty(key, tomlValue, async (k, raw) => {
          try {
            await engine.setConfig('g1', k, raw);
            writeFileSync(file, original); // accepted: fine, start again from the original
            return true;
          } catch (e) {
            if (!(e instanceof VsError)) throw e;
            return readFileSync(file, 'utf8') === original;
          }
        }),
        { numRuns: Math.min(RUNS, 2000), seed: SEED },
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
