// Context numbers: one per guest, unique in an installation, 2..49151 as in Linux-VServer.
import { VsError } from '../util/errors.js';
import { CONTEXT_MAX, CONTEXT_MIN } from './schema.js';

/** Lowest free context at or above `from`, wrapping to the bottom of the range if the top is full. */
export function allocateContext(used: ReadonlySet<number>, from: number): number {
  const start = Math.min(Math.max(from, CONTEXT_MIN), CONTEXT_MAX);
  for (let c = start; c <= CONTEXT_MAX; c++) if (!used.has(c)) return c;
  for (let c = CONTEXT_MIN; c < start; c++) if (!used.has(c)) return c;
  throw new VsError(
    'NO_CONTEXT',
    `no free context number: all of ${CONTEXT_MIN}..${CONTEXT_MAX} are in use`,
    'delete guests you no longer need',
  );
}

export function checkContextFree(used: ReadonlyMap<number, string>, context: number): void {
  const owner = used.get(context);
  if (owner !== undefined) {
    throw new VsError(
      'ALREADY_EXISTS',
      `context ${context} is already used by guest '${owner}'`,
      'choose another --context, or leave it out to get a free one',
    );
  }
}
