// Config fuzzing from the schema: well-formed TOML whose values are valid, or valid but for one
// key that has a wrong value. Valid documents must be accepted as written; each wrong one must be
// refused with an error that names the key. The counts at the end show what the run covered.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGuestConfig, toToml } from '../../src/guest/config.js';
import { CONTEXT_MAX, CONTEXT_MIN } from '../../src/guest/schema.js';
import { ALL_CAPABILITIES } from '../../src/oci/capabilities.js';
import { VsError } from '../../src/util/errors.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261129);
const FILE = '/etc/vserver/guests/fuzz.toml';

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const validGuest = fc.record(
  {
    context: fc.integer({ min: CONTEXT_MIN, max: CONTEXT_MAX }),
    hostname: fc.array(label, { minLength: 1, maxLength: 3 }).map((ls) => ls.join('.')),
    init: fc.constantFrom('plain', 'sysv', 'systemd', 'openrc'),
    stop_signal: fc.constantFrom('SIGTERM', 'SIGPWR', 'RTMIN+3', '15'),
    stop_timeout: fc.integer({ min: 0, max: 86400 }),
    backend: fc.constant('dir'),
    mark: fc.string({ maxLength: 20 }),
    start_order: fc.integer({ min: 0, max: 1_000_000 }),
    env: fc.dictionary(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
    privileged: fc.boolean(),
    security: fc.record({ capabilities: fc.record({ add: fc.subarray([...ALL_CAPABILITIES], { maxLength: 3 }) }) }),
  },
  { requiredKeys: ['context'] },
);

/** For each top-level key, values of the right TOML shape or type that the schema must refuse. */
const WRONG: Record<string, fc.Arbitrary<unknown>> = {
  context: fc.oneof(
    fc.integer({ max: CONTEXT_MIN - 1 }),
    fc.integer({ min: CONTEXT_MAX + 1 }),
    fc.double({ min: 2.01, max: 100.99, noNaN: true }).filter((d) => !Number.isInteger(d)),
    fc.string(),
  ),
  hostname: fc.oneof(fc.constant(''), fc.constant('-bad'), fc.constant('a'.repeat(65)), fc.constant('has space'), fc.integer()),
  init: fc.oneof(fc.constantFrom('upstart', 'PLAIN', ''), fc.integer()),
  stop_signal: fc.oneof(fc.constantFrom('SIGNOPE', 'RTMIN+99', '-1', ''), fc.boolean()),
  stop_timeout: fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: 86401 }), fc.constant('30s')),
  backend: fc.oneof(fc.constantFrom('zfs', 'btrfs', ''), fc.integer()),
  start_order: fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: 1_000_001 }), fc.string()),
  env: fc.oneof(fc.constant({ '1X': 'a' }), fc.constant({ 'A-B': 'a' }), fc.constant({ A: 1 })),
  privileged: fc.oneof(fc.constantFrom('yes', 'true', 1)),
  security: fc.oneof(
    fc.constant({ capabilities: { add: ['FLY'] } }),
    fc.constant({ seccomp_profile: 'relative.json' }),
    fc.constant({ capabilities: { keep: ['CHOWN'] } }),
  ),
  colour: fc.string(), // no such key
};

const wrongGuest = fc
  .tuple(validGuest, fc.constantFrom(...Object.keys(WRONG)))
  .chain(([guest, key]) => WRONG[key]!.map((bad) => ({ doc: { ...guest, [key]: bad } as Record<string, unknown>, key })));

describe('config fuzzing from the schema', () => {
  const seen = { accepted: 0, refused: 0 };
  afterAll(() => console.log(`schema fuzzing: ${seen.accepted} valid configs accepted, ${seen.refused} wrong values refused by key`));

  it(`accepts ${RUNS} valid configs as written`, () => {
    fc.assert(
      fc.property(validGuest, (guest) => {
        const cfg = parseGuestConfig(FILE, toToml(guest));
        expect(cfg.context).toBe(guest.context);
        if (guest.hostname !== undefined) expect(cfg.hostname).toBe(guest.hostname);
        if (guest.env !== undefined) expect(cfg.env).toEqual(guest.env);
        seen.accepted++;
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it(`refuses ${RUNS} configs with one wrong value, naming the key`, () => {
    fc.assert(
      fc.property(wrongGuest, ({ doc, key }) => {
        let error: unknown;
        try {
          parseGuestConfig(FILE, toToml(doc));
        } catch (e) {
          error = e;
        }
        expect(error, `accepted ${key} = ${JSON.stringify(doc[key])}`).toBeInstanceOf(VsError);
        const e = error as VsError;
        expect(e.code).toBe('CONFIG_INVALID');
        expect(e.message).not.toMatch(/not valid TOML/); // the document is well-formed: the value is what is wrong
        expect(e.message).toContain(key);
        seen.refused++;
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
