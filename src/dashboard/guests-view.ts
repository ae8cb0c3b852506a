// The guests page's rows: built from the guest list and the recent history, sorted, filtered, and
// changed in place by lifecycle events and bulk results (no full reload).
import type { LifecycleEvent } from '../wire/events.js';
import type { GuestInfo } from '../wire/guest.js';
import type { HistoryPoint } from '../wire/history.js';
import type { BulkResultRow } from './types.js';

export interface Row {
  name: string;
  context: number;
  state: string;
  addresses: string[];
  init: string;
  backend: string;
  mark: string;
  uptime?: number;
  /** CPU in cores, from the latest point. */
  cpu?: number;
  memory?: number;
  memoryLimit?: number | null;
  /** Memory over the last minutes, oldest first. */
  spark: { t: number[]; memory: number[] };
}

export type SortKey = 'name' | 'context' | 'state' | 'mark' | 'cpu' | 'memory' | 'uptime';

export interface Filter {
  text: string;
  state: string;
  mark: string;
}

export function toRows(guests: readonly GuestInfo[], history: Record<string, HistoryPoint[]>): Row[] {
  return guests.map((g) => {
    const pts = g.state === 'running' ? (history[g.name] ?? []) : [];
    const last = pts.at(-1);
    return {
      name: g.name,
      context: g.context,
      state: g.state,
      init: g.init ?? '',
      backend: g.backend ?? '',
      mark: g.mark ?? '',
      addresses: (g.interfaces ?? []).flatMap((i) => i.addresses.filter((a) => a !== 'auto')),
      ...(g.uptime === undefined ? {} : { uptime: g.uptime }),
      ...(last ? { cpu: last.cpu, memory: last.memory, memoryLimit: last.memoryLimit } : {}),
      spark: { t: pts.map((p) => p.t), memory: pts.map((p) => p.memory) },
    };
  });
}

export function filterRows(rows: readonly Row[], f: Filter): Row[] {
  const text = f.text.trim().toLowerCase();
  return rows.filter(
    (r) =>
      (text === '' || r.name.includes(text) || r.addresses.some((a) => a.startsWith(text))) &&
      (f.state === '' || r.state === f.state) &&
      (f.mark === '' || r.mark === f.mark),
  );
}

export function sortRows(rows: readonly Row[], key: SortKey, descending = false): Row[] {
  const val = (r: Row): string | number => (key === 'name' || key === 'state' || key === 'mark' ? r[key] : (r[key] ?? -1));
  const out = [...rows].sort((a, b) => {
    const x = val(a);
    const y = val(b);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return c !== 0 ? c : a.name.localeCompare(b.name);
  });
  return descending ? out.reverse() : out;
}

/** The marks in use, for the filter's choices. */
export const marks = (rows: readonly Row[]): string[] => [...new Set(rows.map((r) => r.mark).filter(Boolean))].sort();

/**
 * A lifecycle event applied to the list: the new state at once; 'refetch' when the event brings
 * something the list cannot know by itself (a new guest, changed addresses).
 */
export function applyEvent(guests: readonly GuestInfo[], e: LifecycleEvent): { guests: GuestInfo[]; refetch: boolean } {
  const known = guests.some((g) => g.name === e.guest);
  if (e.type === 'deleted') return { guests: guests.filter((g) => g.name !== e.guest), refetch: false };
  if (!known) return { guests: [...guests], refetch: true };
  const state = e.type === 'started' ? 'running' : e.type === 'stopped' || e.type === 'died' ? 'stopped' : undefined;
  return {
    guests: guests.map((g) =>
      g.name === e.guest && state !== undefined ? { ...g, state, ...(state === 'stopped' ? { uptime: undefined } : {}) } : g,
    ),
    refetch: e.type === 'started' || e.type === 'config-changed' || e.type === 'built',
  };
}

/** Per guest, what its row shows after a bulk action: "stopped", "already running", or the error. */
export function bulkOutcome(results: readonly BulkResultRow[]): Map<string, { ok: boolean; text: string }> {
  return new Map(
    results.map((r) => [
      r.name,
      r.ok
        ? { ok: true, text: r.note ?? `${r.action}: ${r.state ?? 'done'}` }
        : { ok: false, text: `${r.error ?? 'failed'}${r.hint ? ` (${r.hint})` : ''}` },
    ]),
  );
}

/** The selection kept to the guests still listed. */
export const keepSelected = (selected: ReadonlySet<string>, rows: readonly Row[]): Set<string> =>
  new Set(rows.map((r) => r.name).filter((n) => selected.has(n)));

/** A table row's height, low, so that the rows counted to fill a window do fill it. */
const ROW_PX = 28;
/** Rows added in each idle moment after the first screen. */
const ROWS_PER_STEP = 100;

/**
 * The rows drawn: those that fill the window, or more once `drawn` says so (Infinity: all), so that a
 * page of hundreds of guests shows its first screen before the rest are laid out.
 */
export const rowsToDraw = <T>(rows: readonly T[], drawn: number, windowPx: number): readonly T[] =>
  rows.slice(0, Math.max(drawn, Math.ceil(windowPx / ROW_PX) + 5));

/** How many rows to draw next, after `shown` of `total` are: more, or Infinity once all are. */
export const moreRows = (shown: number, total: number): number => (shown >= total ? Infinity : shown + ROWS_PER_STEP);
