// The shape of a verb's command line, declared once per verb and checked by one parser.
export interface OptionSpec {
  name: string;
  short?: string;
  /** Without a value type the option is a flag. */
  value?: 'string' | 'int';
  /** May be given more than once; the values are collected. */
  repeat?: boolean;
  help: string;
  /** Placeholder shown in help, for example FILE. */
  meta?: string;
}

export interface VerbSpec {
  name: string;
  summary: string;
  /** Positional arguments, in order; a trailing '?' marks an optional one. */
  args: string[];
  options: OptionSpec[];
  /** Everything after the positionals (or after --) is one argument vector, as for exec. */
  rest?: string;
  /** Options this verb does not know start the rest vector (they belong to the program it runs, as for ps). */
  passthrough?: boolean;
  examples: string[];
}

export const GLOBAL_OPTIONS: OptionSpec[] = [
  { name: 'root', value: 'string', meta: 'DIR', help: 'root prefix of the installation (default $VSERVER_ROOT or /)' },
  { name: 'json', help: 'print machine-readable JSON' },
  { name: 'help', short: 'h', help: 'show help' },
  { name: 'version', short: 'V', help: 'print the version' },
  {
    name: 'remote',
    value: 'string',
    meta: 'R',
    help: 'run through a vserverd: unix:PATH, https://HOST:PORT or a name from remote add (default $VSERVER_REMOTE)',
  },
];
