// Help texts, made from the verb table so that they never drift from what is parsed.
import { VERSION } from '../version.js';
import { usageLine } from './argv.js';
import { GLOBAL_OPTIONS, type OptionSpec } from './spec.js';
import { VERBS, type Verb } from './verbs.js';

function optionLines(opts: OptionSpec[]): string {
  return opts
    .map((o) => {
      const flag = `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.value ? ` ${o.meta ?? o.value.toUpperCase()}` : ''}`;
      return `  ${flag.padEnd(26)} ${o.help}`;
    })
    .join('\n');
}

export function helpText(): string {
  const w = Math.max(...VERBS.map((v) => v.name.length));
  return [
    `vserver ${VERSION}: isolated guest systems on one shared Linux kernel`,
    '',
    'usage: vserver COMMAND NAME [OPTIONS]   or   vserver NAME COMMAND [OPTIONS]',
    '',
    'commands:',
    ...VERBS.map((v) => `  ${v.name.padEnd(w)}  ${v.summary}`),
    '',
    'options for every command:',
    optionLines(GLOBAL_OPTIONS),
    '',
    "'vserver COMMAND --help' shows a command's options and examples.",
    '',
  ].join('\n');
}

export function verbHelp(v: Verb): string {
  return [
    `usage: ${usageLine(v)}`,
    '',
    v.summary,
    ...(v.options.length > 0 ? ['', 'options:', optionLines(v.options)] : []),
    '',
    'examples:',
    ...v.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}
