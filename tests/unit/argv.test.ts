import { describe, expect, it } from 'vitest';
import { parseArgv } from '../../src/cli/argv.js';
import { VERB_MAP } from '../../src/cli/verbs.js';
import { VsError } from '../../src/util/errors.js';

const parse = (s: string[]) => parseArgv(s, VERB_MAP);

function usageError(argv: string[]): VsError {
  try {
    parse(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(VsError);
    expect((e as VsError).code).toBe('USAGE');
    return e as VsError;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
}

describe('parseArgv', () => {
  it('hands ps options on to ps, in either word order, keeping --json for itself', () => {
    expect(parse(['ps', '-ef'])).toMatchObject({ verb: 'ps', positionals: [], rest: ['-ef'] });
    expect(parse(['ps', 'aux'])).toMatchObject({ verb: 'ps', positionals: ['aux'], rest: [] });
    expect(parse(['ps', '-o', 'pid,args', '--json'])).toMatchObject({ rest: ['-o', 'pid,args'], options: { json: true } });
    expect(parse(['ps', 'web1', '-o', 'pid,args'])).toMatchObject({ positionals: ['web1'], rest: ['-o', 'pid,args'] });
    expect(parse(['web1', 'ps', '-f'])).toMatchObject({ verb: 'ps', positionals: ['web1'], rest: ['-f'] });
    // other verbs still refuse options they do not know
    expect(usageError(['stat', '-ef']).message).toMatch(/unknown option '-ef' for 'stat'/);
  });

  it('reads a negative number as a value, not an option', () => {
    expect(parse(['limit', 'web1', 'memory.max', '-5'])).toMatchObject({ verb: 'limit', positionals: ['web1', 'memory.max', '-5'] });
  });

  it('takes the verb first', () => {
    expect(parse(['start', 'web1'])).toMatchObject({ verb: 'start', positionals: ['web1'] });
  });

  it("takes util-vserver's order: NAME VERB", () => {
    expect(parse(['web1', 'start'])).toMatchObject({ verb: 'start', positionals: ['web1'] });
    expect(parse(['web1', 'stop', '--timeout', '5'])).toMatchObject({ verb: 'stop', positionals: ['web1'], options: { timeout: 5 } });
  });

  it('reads global options before the verb and options after it', () => {
    expect(parse(['--root', '/x', 'list', '--json'])).toMatchObject({ verb: 'list', options: { root: '/x', json: true } });
    expect(parse(['--root=/x', 'web1', 'status'])).toMatchObject({ verb: 'status', positionals: ['web1'], options: { root: '/x' } });
  });

  it('gives exec everything after --, or after the name', () => {
    expect(parse(['exec', 'web1', '--', 'ls', '-l'])).toMatchObject({ positionals: ['web1'], rest: ['ls', '-l'] });
    expect(parse(['exec', 'web1', 'ls', '-l', '--json'])).toMatchObject({ positionals: ['web1'], rest: ['ls', '-l', '--json'] });
    expect(parse(['web1', 'exec', 'cat', '/etc/hostname'])).toMatchObject({
      verb: 'exec',
      positionals: ['web1'],
      rest: ['cat', '/etc/hostname'],
    });
    expect(parse(['--root', '/r', 'web1', 'exec', 'true'])).toMatchObject({
      positionals: ['web1'],
      rest: ['true'],
      options: { root: '/r' },
    });
  });

  it('parses integer options and refuses others', () => {
    expect(parse(['stop', 'web1', '--timeout=7']).options.timeout).toBe(7);
    expect(usageError(['stop', 'web1', '--timeout', 'soon']).message).toMatch(/--timeout takes a whole number/);
    expect(usageError(['stop', 'web1', '--timeout']).message).toMatch(/needs a value/);
  });

  it('names an unknown option and lists the known ones', () => {
    const e = usageError(['start', 'web1', '--bogus']);
    expect(e.message).toMatch(/unknown option '--bogus' for 'start'/);
    expect(e.hint).toMatch(/--root/);
  });

  it('refuses a missing name, extra arguments and unknown commands', () => {
    expect(usageError(['status']).message).toMatch(/'status' needs NAME/);
    expect(usageError(['status', 'a', 'b']).message).toMatch(/at most 1 argument/);
    // start, stop and restart take any number of guests
    expect(parseArgv(['start', 'a', 'b', 'c'], VERB_MAP).positionals).toEqual(['a', 'b', 'c']);
    expect(usageError(['frobnicate', 'x']).message).toMatch(/unknown command 'frobnicate'/);
    expect(usageError(['list', 'x']).message).toMatch(/takes no arguments/);
    expect(usageError(['start', 'web1', '--', 'x']).message).toMatch(/nothing after --/);
    expect(usageError(['list', '--json=1']).message).toMatch(/takes no value/);
  });

  it('lets --help through without the required arguments', () => {
    expect(parse(['start', '--help'])).toMatchObject({ verb: 'start', options: { help: true } });
    const v = parse(['--version']);
    expect(v.verb).toBeUndefined();
    expect(v.options.version).toBe(true);
  });

  it('collects config KEY and VALUE', () => {
    expect(parse(['config', 'web1', 'stop_timeout', '10'])).toMatchObject({ positionals: ['web1', 'stop_timeout', '10'] });
  });
});
