// vserver ps: the host's ps output with a CONTEXT column, for every process or one guest's.
import { checkName, printable } from '../guest/name.js';
import { addContextColumn, HOST_OWNER, type Owner, type PsTable } from '../resources/ps.js';
import { VsError } from '../util/errors.js';
import { run } from '../util/proc.js';
import type { Deps } from './deps.js';
import { pidOwners, runningGuests } from './running.js';

export const DEFAULT_PS_ARGS = ['-ef'];

/**
 * ps with a CONTEXT column. `first` is the first word after `ps`: a guest's name (then only its
 * processes are listed) or, as with vps, a ps option such as `aux` when no guest has that name.
 */
export async function psGuests(deps: Deps, psOptions: readonly string[], first?: string): Promise<PsTable> {
  const only = first !== undefined && deps.store.names().includes(first) ? first : undefined;
  const psArgs = first !== undefined && only === undefined ? [first, ...psOptions] : psOptions;
  if (only !== undefined) deps.store.read(checkName(only));
  const guests = await runningGuests(deps);
  if (only !== undefined && !guests.some((g) => g.name === only)) {
    throw new VsError('NOT_RUNNING', `guest '${only}' is not running`, `start it with 'vserver start ${only}'`);
  }
  // owners read before and after ps, so that a process that starts or ends meanwhile is still placed
  const owners = pidOwners(deps, guests);
  let args = psArgs.length > 0 ? [...psArgs] : DEFAULT_PS_ARGS;
  // for one guest, ps must see every process whatever the options select (its own ids are not ours)
  if (only !== undefined && !args.some((a) => a === '-e' || a === '-A')) args = ['-e', ...args];
  const r = await run('ps', args);
  if (r.code !== 0) {
    const notGuest = first !== undefined && only === undefined ? ` (and no guest is named '${printable(first)}')` : '';
    throw new VsError(
      'USAGE',
      `ps refused the options '${printable(psArgs.join(' '))}'${notGuest}: ${r.stderr.trim().split('\n')[0] ?? ''}`,
      "vserver ps passes its options to ps (see 'man ps'); 'vserver list' shows the guests",
    );
  }
  for (const [pid, o] of pidOwners(deps, guests)) owners.set(pid, o);
  const table = addContextColumn(r.stdout, (pid): Owner => owners.get(pid) ?? HOST_OWNER);
  if (only !== undefined) table.rows = table.rows.filter((row) => row.name === only && row.context !== 0);
  return table;
}
