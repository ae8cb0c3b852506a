// Parses argv for both grammars: `vserver VERB NAME ...` and util-vserver's `vserver NAME VERB ...`.
import { VsError } from '../util/errors.js';
import { printable } from '../guest/name.js';
import { GLOBAL_OPTIONS, type OptionSpec, type VerbSpec } from './spec.js';

export type OptionValue = string | number | boolean | (string | number)[];

export interface ParsedArgs {
  verb?: string;
  /** Global options and the verb's options, by long name. */
  options: Record<string, OptionValue>;
  positionals: string[];
  rest: string[];
}

function usage(message: string, hint: string): VsError {
  return new VsError('USAGE', message, hint);
}

function findOption(specs: OptionSpec[], token: string): OptionSpec | undefined {
  if (token.startsWith('--')) return specs.find((o) => o.name === token.slice(2));
  return specs.find((o) => o.short !== undefined && o.short === token.slice(1));
}

function convert(opt: OptionSpec, raw: string, verb: string | undefined): string | number {
  if (opt.value !== 'int') return raw;
  if (!/^\d+$/.test(raw)) {
    throw usage(
      `option --${opt.name} takes a whole number, not '${printable(raw)}'`,
      `see 'vserver ${verb ?? ''} --help'`.replace('  ', ' '),
    );
  }
  return Number(raw);
}

/** Reads options and positionals with the given option specs; stops at `--` or once `stopAfter` positionals are in. */
function scan(
  tokens: string[],
  specs: OptionSpec[],
  verb: string | undefined,
  stopAfter = Infinity,
  passthrough = false,
): { options: Record<string, OptionValue>; positionals: string[]; rest: string[]; restStarted: boolean } {
  const options: Record<string, OptionValue> = {};
  const positionals: string[] = [];
  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i]!;
    if (t === '--') return { options, positionals, rest: tokens.slice(i + 1), restStarted: true };
    // "-5" is a (negative) value, not an option: no option starts with a digit
    if (t.startsWith('-') && t !== '-' && !/^-\d/.test(t)) {
      const eq = t.startsWith('--') ? t.indexOf('=') : -1;
      const key = eq > 0 ? t.slice(0, eq) : t;
      const opt = findOption(specs, key);
      if (!opt && passthrough) return { options, positionals, rest: passOn(tokens.slice(i), options), restStarted: true };
      if (!opt) {
        const known = specs.map((o) => `--${o.name}`).join(', ');
        throw usage(`unknown option '${printable(key)}'${verb ? ` for '${verb}'` : ''}`, `options here: ${known}`);
      }
      let value: string | number | boolean = true;
      if (opt.value) {
        const raw = eq > 0 ? t.slice(eq + 1) : tokens[++i];
        if (raw === undefined)
          throw usage(`option --${opt.name} needs a value (${opt.meta ?? opt.value})`, `for example --${opt.name} ${opt.meta ?? 'VALUE'}`);
        value = convert(opt, raw, verb);
      } else if (eq > 0) {
        throw usage(`option --${opt.name} takes no value`, `write just --${opt.name}`);
      }
      if (opt.repeat) options[opt.name] = [...((options[opt.name] as (string | number)[] | undefined) ?? []), value as string | number];
      else options[opt.name] = value;
    } else if (positionals.length >= stopAfter) {
      return { options, positionals, rest: tokens.slice(i), restStarted: true };
    } else positionals.push(t);
    i++;
  }
  return { options, positionals, rest: [], restStarted: false };
}

/** The rest of a passthrough verb's line, less --json, which is ours wherever it stands. */
function passOn(tokens: string[], options: Record<string, OptionValue>): string[] {
  if (tokens.includes('--json')) options.json = true;
  return tokens.filter((t) => t !== '--json');
}

/** The index of the verb in argv: the first word, or (util-vserver order) the word after the guest name. */
function locateVerb(argv: string[], verbs: ReadonlyMap<string, VerbSpec>): { verb?: string; name?: string; tokens: string[] } {
  const words: number[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const t = argv[i]!;
    if (t === '--') break;
    if (t.startsWith('-') && t !== '-') {
      const opt = findOption(GLOBAL_OPTIONS, t.includes('=') ? t.slice(0, t.indexOf('=')) : t);
      if (opt?.value && !t.includes('=')) i++;
      continue;
    }
    words.push(i);
  }
  const [a, b] = words;
  if (a === undefined) return { tokens: argv };
  if (verbs.has(argv[a]!)) return { verb: argv[a]!, tokens: [...argv.slice(0, a), ...argv.slice(a + 1)] };
  if (b !== undefined && verbs.has(argv[b]!)) {
    return { verb: argv[b]!, name: argv[a]!, tokens: [...argv.slice(0, a), ...argv.slice(a + 1, b), ...argv.slice(b + 1)] };
  }
  throw usage(`unknown command '${printable(argv[a]!)}'`, "run 'vserver --help' for the list of commands");
}

export function parseArgv(argv: string[], verbs: ReadonlyMap<string, VerbSpec>): ParsedArgs {
  const { verb, name, tokens } = locateVerb(argv, verbs);
  if (!verb) {
    const r = scan(tokens, GLOBAL_OPTIONS, undefined);
    return { options: r.options, positionals: r.positionals, rest: r.rest };
  }
  const spec = verbs.get(verb)!;
  const specs = [...GLOBAL_OPTIONS, ...spec.options];
  const optional = (a: string) => a.endsWith('?') || a.endsWith('...');
  const variadic = spec.args.some((a) => a.endsWith('...'));
  const required = spec.args.filter((a) => !optional(a)).length;
  const lead = name === undefined ? [] : [name];
  // with a rest vector, the first word after the positionals starts the command: `exec web1 ls -l`
  const r = scan(tokens, specs, verb, spec.rest ? spec.args.length - lead.length : Infinity, spec.passthrough);
  const positionals = [...lead, ...r.positionals];
  if (r.options.help) return { verb, options: r.options, positionals, rest: r.rest };
  if (positionals.length < required) {
    throw usage(`'${verb}' needs ${spec.args.filter((x) => !optional(x)).join(' ')}`, `usage: ${usageLine(spec)}`);
  }
  if (!variadic && positionals.length > spec.args.length) {
    throw usage(
      `'${verb}' takes ${spec.args.length === 0 ? 'no arguments' : `at most ${spec.args.length} argument${spec.args.length === 1 ? '' : 's'}`}` +
        `, got '${printable(positionals.slice(spec.args.length).join(' '))}' too`,
      `usage: ${usageLine(spec)}`,
    );
  }
  if (!spec.rest && r.restStarted && r.rest.length > 0) {
    throw usage(`'${verb}' takes nothing after --`, `usage: ${usageLine(spec)}`);
  }
  return { verb, options: r.options, positionals, rest: r.rest };
}

export function usageLine(spec: VerbSpec): string {
  const args = spec.args.map((a) => (a.endsWith('?') ? `[${a.slice(0, -1)}]` : a.endsWith('...') ? `[${a}]` : a));
  const opts = spec.options.map((o) => `[--${o.name}${o.value ? ` ${o.meta ?? o.value.toUpperCase()}` : ''}]`);
  return ['vserver', spec.name, ...args, ...opts, ...(spec.rest ? [`[--] ${spec.rest}`] : [])].join(' ');
}
