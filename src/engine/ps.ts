// vserver ps: the host's ps output with a CONTEXT column, for every process or one guest's.
import { checkName } from '../guest/name.js';
import { addContextColumn, HOST_OWNER, type Owner, type PsTable } from '../resources/ps.js';
import { VsError } from '../util/errors.js';
import { run } from '../util/proc.js';
import type { Deps } from './deps.js';
import { pidOwners, runningGuests } from './running.js';

export const DEFAULT_PS_ARGS = ['-ef'];

export async function psGuests(deps: Deps, psArgs: readonly string[], only?: string): Promise<PsTable> {
  if (only !== undefined) deps.store.read(checkName(only));
  const guests = await runningGuests(deps);
  if (only !== undefined && !guests.some((g) => g.name === only)) {
    throw new VsError('NOT_RUNNING', `guest '${only}' is not running`, `start it with 'vserver start ${only}'`);
  }
  // owners read before and after ps, so that a process that starts or ends meanwhile is still placed
  const owners = pidOwners(deps, guests);
  const r = await run('ps', psArgs.length > 0 ? psArgs : DEFAULT_PS_ARGS);
  if (r.code !== 0) {
    throw new VsError('USAGE', `ps refused the options '${psArgs.join(' ')}': ${r.stderr.trim().split('\n')[0] ?? ''}`,
      "vserver ps passes its options to ps; see 'man ps'");
  }
  for (const [pid, o] of pidOwners(deps, guests)) owners.set(pid, o);
  const table = addContextColumn(r.stdout, (pid): Owner => owners.get(pid) ?? HOST_OWNER);
  if (only !== undefined) table.rows = table.rows.filter((row) => row.name === only && row.context !== 0);
  return table;
}
