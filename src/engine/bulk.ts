// Acting on many guests in one process: a bounded pool of starts, stops or restarts, one result per
// guest, and boot-time autostart by mark in start_order groups.
import { availableParallelism } from 'node:os';
import { checkName } from '../guest/name.js';
import { toVsError, VsError } from '../util/errors.js';
import type { Deps } from './deps.js';
import type { GuestInfo } from './types.js';

export type BulkAction = 'start' | 'stop' | 'restart';

export interface BulkResult {
  name: string;
  action: BulkAction;
  ok: boolean;
  /** The guest's state after the action, when it succeeded. */
  info?: GuestInfo;
  error?: VsError;
  /** Nothing to do: the guest already was in the state asked for. */
  note?: string;
  /** Milliseconds from the start of the whole run to when this guest's action began and ended. */
  began: number;
  ended: number;
}

export interface BulkOptions {
  jobs?: number;
  timeoutS?: number;
}

/**
 * Guests in flight at once by default: starts mostly wait on the runtime and the kernel; stops
 * mostly wait for processes to end and namespaces to go, so more of them overlap.
 */
export function defaultJobs(cores = availableParallelism(), action: BulkAction = 'start'): number {
  if (action === 'stop') return Math.min(32, Math.max(4, cores * 8));
  return Math.min(16, Math.max(2, cores * 2));
}

export function checkJobs(jobs: number | undefined, action: BulkAction = 'start'): number {
  if (jobs === undefined) return defaultJobs(availableParallelism(), action);
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new VsError(
      'USAGE',
      `--jobs must be 1 or more, not ${jobs}`,
      `for example --jobs ${defaultJobs(availableParallelism(), action)}`,
    );
  }
  return jobs;
}

/** Runs fn over items, at most `jobs` at once, in the items' order; never rejects. */
export async function pool<T, R>(items: readonly T[], jobs: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  return out;
}

export interface Actions {
  start(name: string): Promise<GuestInfo>;
  stop(name: string, opts: { timeoutS?: number }): Promise<void>;
  restart(name: string, opts: { timeoutS?: number }): Promise<GuestInfo>;
}

/** One action on every named guest; a failure is that guest's result and never stops the others. */
export async function bulk(
  actions: Actions,
  action: BulkAction,
  names: readonly string[],
  opts: BulkOptions = {},
  t0 = performance.now(),
): Promise<BulkResult[]> {
  const jobs = checkJobs(opts.jobs, action);
  const unique = [...new Set(names)];
  return pool(unique, jobs, async (name) => {
    const began = performance.now() - t0;
    try {
      let info: GuestInfo | undefined;
      if (action === 'start') info = await actions.start(name);
      else if (action === 'restart') info = await actions.restart(name, { timeoutS: opts.timeoutS });
      else await actions.stop(name, { timeoutS: opts.timeoutS });
      return { name, action, ok: true, ...(info ? { info } : {}), began, ended: performance.now() - t0 };
    } catch (e) {
      const err = toVsError(e);
      // in a bulk run, a guest that is already where it was asked to be is no failure
      const note =
        action === 'start' && err.code === 'ALREADY_RUNNING'
          ? 'already running'
          : action === 'stop' && err.code === 'NOT_RUNNING'
            ? 'was not running'
            : undefined;
      if (note) return { name, action, ok: true, note, began, ended: performance.now() - t0 };
      return { name, action, ok: false, error: err, began, ended: performance.now() - t0 };
    }
  });
}

export interface Selection {
  names?: readonly string[];
  all?: boolean;
  mark?: string;
}

/** The guests a bulk command names: listed, --all, or --mark M (an unknown mark is an error). */
export function selectGuests(deps: Deps, sel: Selection): string[] {
  const given = sel.names ?? [];
  if (given.length > 0 && (sel.all || sel.mark !== undefined)) {
    throw new VsError('USAGE', 'name guests, or use --all or --mark, not both', 'for example: vserver start --mark web');
  }
  // a malformed name makes the whole command wrong: refused before any guest is touched
  for (const n of given) checkName(n);
  if (given.length > 0) return [...given];
  const all = deps.store.readAll();
  if (sel.all) return all.map((g) => g.name);
  if (sel.mark === undefined) throw new VsError('USAGE', 'no guest named', 'name one or more guests, or use --all or --mark M');
  const marked = all.filter((g) => g.config?.mark === sel.mark).map((g) => g.name);
  if (marked.length === 0)
    throw unknownMark(
      sel.mark,
      all.map((g) => g.config?.mark),
    );
  return marked;
}

function unknownMark(mark: string, marks: (string | undefined)[]): VsError {
  const known = [...new Set(marks.filter((m): m is string => m !== undefined))].sort();
  return new VsError(
    'NOT_FOUND',
    `no guest has mark '${mark}'`,
    known.length > 0 ? `marks in use: ${known.join(', ')}` : "give guests a mark with 'vserver config NAME mark M'",
  );
}

/** Marked guests by start_order, lowest first; guests without an order come last, as one group. */
export function startGroups(guests: readonly { name: string; order?: number }[]): string[][] {
  const byOrder = new Map<number, string[]>();
  for (const g of guests) {
    const o = g.order ?? Number.MAX_SAFE_INTEGER;
    byOrder.set(o, [...(byOrder.get(o) ?? []), g.name]);
  }
  return [...byOrder.entries()].sort(([a], [b]) => a - b).map(([, names]) => names);
}

/** The guests of a mark in their start groups; broken configs are reported as failed results. */
export function markGroups(deps: Deps, mark: string): { groups: string[][]; broken: { name: string; error: VsError }[] } {
  const all = deps.store.readAll();
  const broken = all.filter((g) => g.error !== undefined).map((g) => ({ name: g.name, error: g.error! }));
  const marked = all.filter((g) => g.config?.mark === mark);
  if (marked.length === 0 && broken.length === 0)
    throw unknownMark(
      mark,
      all.map((g) => g.config?.mark),
    );
  return { groups: startGroups(marked.map((g) => ({ name: g.name, order: g.config!.start_order }))), broken };
}

/**
 * Boot: each start_order group in parallel, a group once the one before it is running; a guest that
 * fails is reported and blocks nobody. Shutdown: the groups in reverse, each guest with its own timeout.
 */
export async function autoRun(
  actions: Actions,
  deps: Deps,
  direction: 'start' | 'stop',
  mark: string,
  opts: BulkOptions = {},
): Promise<BulkResult[]> {
  const { groups, broken } = markGroups(deps, mark);
  const t0 = performance.now();
  const results: BulkResult[] = broken.map((b) => ({ name: b.name, action: direction, ok: false, error: b.error, began: 0, ended: 0 }));
  for (const group of direction === 'start' ? groups : [...groups].reverse()) {
    results.push(...(await bulk(actions, direction, group, opts, t0)));
  }
  return results;
}
