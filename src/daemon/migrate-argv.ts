// What the migration route may run for a source: the receive protocol for one guest, or rsync's
// receiving server writing into a staging directory an active receive announced. Nothing else.
import { checkName } from '../guest/name.js';
import { VsError } from '../util/errors.js';

export type RelayCommand = { kind: 'receive'; name: string } | { kind: 'rsync'; argv: string[]; dest: string };

/** rsync's short options as a receiving server gets them; no option that names a path (T), nor K or L, which would follow a symlink the guest planted in its tree out of it. */
const SHORT = /^-[lHogDtpAXrSdRvnWzcxuI]+e\.[A-Za-z]*$/;
const LONG = [/^--log-format=%i$/, /^--timeout=\d{1,5}$/, /^--delete$/, /^--numeric-ids$/, /^--no-r$/];

const refuse = (what: string) =>
  new VsError(
    'NOT_PERMITTED',
    `the migration route does not run ${what}`,
    "it runs only 'receive NAME' and 'rsync --server' into the staging directory of an active receive (vserver migrate NAME REMOTE sends those)",
  );

/**
 * Checks a command against what the route allows; `staging` maps each staging tree an active
 * receive announced to the command that writes it there (rsync, or rsync under idmap-run).
 */
export function checkRelayCommand(command: unknown, staging: ReadonlyMap<string, readonly string[]>): RelayCommand {
  if (!Array.isArray(command) || command.length === 0 || command.length > 32 || !command.every((w) => typeof w === 'string'))
    throw new VsError('USAGE', 'the migration command must be a JSON array of 1 to 32 strings', 'vserver migrate NAME REMOTE sends it');
  const argv = command as string[];
  const shown = JSON.stringify(argv).slice(0, 300);
  if (argv[0] === 'receive') {
    if (argv.length !== 2) throw refuse(shown);
    return { kind: 'receive', name: checkName(argv[1]!) };
  }
  if (argv[0] !== 'rsync' || argv[1] !== '--server' || argv.length < 5) throw refuse(shown);
  const [dot, dest] = argv.slice(-2) as [string, string];
  const opts = argv.slice(2, -2);
  if (dot !== '.' || !SHORT.test(opts[0] ?? '') || !opts.slice(1).every((o) => LONG.some((r) => r.test(o)))) throw refuse(shown);
  // exactly an announced tree: no '..', no other directory, no second path
  const tree = dest.replace(/\/+$/, '');
  const prefix = staging.get(tree);
  if (prefix === undefined) throw refuse(`rsync into ${dest} (not the staging directory of an active receive)`);
  return { kind: 'rsync', argv: [...prefix, ...argv.slice(1, -1), `${tree}/`], dest: tree };
}
