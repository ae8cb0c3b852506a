// The guests page: one row per guest, live from events and the recent history, with bulk actions.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { get, send } from './api.js';
import { errorText } from './api-errors.js';
import { Sparkline } from './charts.js';
import { followEvents, type EventsState } from './events.js';
import { formatCpu, formatDuration, formatMemory } from './format.js';
import {
  applyEvent,
  bulkOutcome,
  filterRows,
  keepSelected,
  marks,
  moreRows,
  rowsToDraw,
  sortRows,
  toRows,
  type SortKey,
} from './guests-view.js';
import { routeHash } from './route.js';
import type { GuestInfo } from '../wire/guest.js';
import type { HistoryPoint } from '../wire/history.js';
import type { BulkResultRow } from './types.js';

const FIGURES_EVERY_MS = 5000;

/** Runs fn when the browser is idle (at the latest after 200 ms); returns the cancel. */
function whenIdle(fn: () => void): () => void {
  if (typeof requestIdleCallback !== 'function') {
    const t = setTimeout(fn, 16);
    return () => clearTimeout(t);
  }
  const id = requestIdleCallback(fn, { timeout: 200 });
  return () => cancelIdleCallback(id);
}

const COLUMNS: { key: SortKey | undefined; label: string }[] = [
  { key: 'name', label: 'Name' },
  { key: 'context', label: 'Context' },
  { key: 'state', label: 'State' },
  { key: undefined, label: 'Addresses' },
  { key: undefined, label: 'Init' },
  { key: undefined, label: 'Backend' },
  { key: 'mark', label: 'Mark' },
  { key: 'uptime', label: 'Uptime' },
  { key: 'cpu', label: 'CPU' },
  { key: 'memory', label: 'Memory' },
];

export function GuestsPage({ onError }: { onError: (e: unknown) => void }) {
  const [guests, setGuests] = useState<GuestInfo[] | undefined>();
  const [history, setHistory] = useState<Record<string, HistoryPoint[]>>({});
  const [events, setEvents] = useState<EventsState>('live');
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'name', desc: false });
  const [filter, setFilter] = useState({ text: '', state: '', mark: '' });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [results, setResults] = useState<Map<string, { ok: boolean; text: string }>>(new Map());
  const [busy, setBusy] = useState(false);
  // the rows drawn beyond the first screen: more in each idle moment after it is painted, then all (Infinity)
  const [drawn, setDrawn] = useState(0);
  const guestsRef = useRef<GuestInfo[]>([]);
  const eventsRef = useRef(events);
  eventsRef.current = events;

  const loadList = async () => {
    try {
      const g = await get<GuestInfo[]>('/1.0/guests');
      guestsRef.current = g;
      setGuests(g);
    } catch (e) {
      onError(e);
    }
  };
  const loadHistory = async () => {
    try {
      setHistory((await get<{ guests: Record<string, HistoryPoint[]> }>('/1.0/history?range=5m')).guests);
    } catch (e) {
      onError(e);
    }
  };

  // a layout effect: the list is asked for as the page is laid out, not a frame later
  useLayoutEffect(() => {
    // the first paint needs only the list; the sparklines' history is asked for once it is shown
    void loadList().then(() => requestAnimationFrame(() => setTimeout(() => void loadHistory())));
    let tick = 0;
    const stop = followEvents(
      '',
      (e) => {
        const r = applyEvent(guestsRef.current, e);
        guestsRef.current = r.guests;
        setGuests(r.guests);
        if (r.refetch) void loadList();
      },
      setEvents,
    );
    // figures every 5 s; the list too (uptime, addresses), each time without events, else every third time
    const timer = setInterval(() => {
      tick++;
      void loadHistory();
      if (eventsRef.current !== 'live' || tick % 3 === 0) void loadList();
    }, FIGURES_EVERY_MS);
    return () => {
      stop();
      clearInterval(timer);
    };
  }, []);

  const all = useMemo(() => toRows(guests ?? [], history), [guests, history]);
  const rows = useMemo(() => sortRows(filterRows(all, filter), sort.key, sort.desc), [all, filter, sort]);
  const drawnRows = rowsToDraw(rows, drawn, window.innerHeight);
  const listed = guests !== undefined;
  useEffect(() => {
    if (!listed || drawn === Infinity) return;
    return whenIdle(() => setDrawn(moreRows(drawnRows.length, rows.length)));
  }, [listed, drawn, drawnRows.length, rows.length]);
  const shown = keepSelected(selected, rows);

  const bulk = async (action: 'start' | 'stop' | 'restart') => {
    const names = [...shown];
    if (names.length === 0) return;
    if (action !== 'start' && !confirm(`${action === 'stop' ? 'Stop' : 'Restart'} ${names.length} guest(s): ${names.join(', ')}?`)) return;
    setBusy(true);
    setResults(new Map(names.map((n) => [n, { ok: true, text: `${action}…` }])));
    try {
      const r = await send<{ results: BulkResultRow[] }>('PUT', '/1.0/guests/state', { action, names });
      setResults(bulkOutcome(r.results));
    } catch (e) {
      setResults(new Map(names.map((n) => [n, { ok: false, text: errorText(e) }])));
    } finally {
      setBusy(false);
      void loadList();
    }
  };

  const toggle = (name: string) => {
    const s = new Set(shown);
    if (s.has(name)) s.delete(name);
    else s.add(name);
    setSelected(s);
  };
  const allShown = rows.length > 0 && rows.every((r) => shown.has(r.name));

  return (
    <section aria-labelledby="guests-h">
      <div class="page-head">
        <h1 id="guests-h">Guests</h1>
        <span class="live" data-state={events} role="status">
          {events === 'live' ? 'live' : events === 'polling' ? 'refreshing every 5 s' : 'reconnecting…'}
        </span>
      </div>
      <div class="toolbar" role="search">
        <label>
          Filter{' '}
          <input
            type="search"
            value={filter.text}
            placeholder="name or address"
            onInput={(e) => setFilter({ ...filter, text: e.currentTarget.value })}
          />
        </label>
        <label>
          State{' '}
          <select value={filter.state} onChange={(e) => setFilter({ ...filter, state: e.currentTarget.value })}>
            <option value="">any</option>
            <option value="running">running</option>
            <option value="stopped">stopped</option>
            <option value="paused">paused</option>
            <option value="broken">broken</option>
          </select>
        </label>
        <label>
          Mark{' '}
          <select value={filter.mark} onChange={(e) => setFilter({ ...filter, mark: e.currentTarget.value })}>
            <option value="">any</option>
            {marks(all).map((m) => (
              <option value={m}>{m}</option>
            ))}
          </select>
        </label>
        <span class="spacer" />
        <span class="muted">{shown.size} selected</span>
        {(['start', 'stop', 'restart'] as const).map((a) => (
          <button type="button" disabled={busy || shown.size === 0} onClick={() => void bulk(a)}>
            {a[0]!.toUpperCase() + a.slice(1)} selected
          </button>
        ))}
      </div>
      {guests === undefined ? (
        <p class="muted">Loading…</p>
      ) : guests.length === 0 ? (
        <p>
          No guests yet. <a href="#/build">Build one</a>.
        </p>
      ) : (
        <table class="guests">
          <thead>
            <tr>
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label="select all shown guests"
                  checked={allShown}
                  onChange={() => setSelected(allShown ? new Set() : new Set(rows.map((r) => r.name)))}
                />
              </th>
              {COLUMNS.map((c) => (
                <th scope="col" aria-sort={c.key && sort.key === c.key ? (sort.desc ? 'descending' : 'ascending') : undefined}>
                  {c.key ? (
                    <button
                      type="button"
                      class="sort"
                      onClick={() => setSort({ key: c.key!, desc: sort.key === c.key ? !sort.desc : false })}
                    >
                      {c.label}
                      {sort.key === c.key ? (sort.desc ? ' ▼' : ' ▲') : ''}
                    </button>
                  ) : (
                    c.label
                  )}
                </th>
              ))}
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {drawnRows.map((r) => {
              const res = results.get(r.name);
              return (
                <tr key={r.name} data-guest={r.name}>
                  <td>
                    <input type="checkbox" aria-label={`select ${r.name}`} checked={shown.has(r.name)} onChange={() => toggle(r.name)} />
                  </td>
                  <td>
                    <a href={routeHash({ page: 'guest', name: r.name, tab: 'overview' })}>{r.name}</a>
                  </td>
                  <td class="num">{r.context}</td>
                  <td>
                    <span class={`state ${r.state}`} data-state={r.state}>
                      {r.state}
                    </span>
                  </td>
                  <td>{r.addresses.join(', ') || '–'}</td>
                  <td>{r.init || '–'}</td>
                  <td>{r.backend || '–'}</td>
                  <td>{r.mark || '–'}</td>
                  <td class="num">{r.state === 'running' ? formatDuration(r.uptime) : '–'}</td>
                  <td class="num">{r.state === 'running' ? formatCpu(r.cpu) : '–'}</td>
                  <td class="mem">
                    {r.state === 'running' ? (
                      <div>
                        <span>{formatMemory(r.memory, r.memoryLimit)}</span>
                        {r.spark.t.length > 1 ? (
                          <Sparkline t={r.spark.t} values={r.spark.memory} label={`memory of ${r.name} over the last minutes`} />
                        ) : null}
                      </div>
                    ) : (
                      '–'
                    )}
                  </td>
                  <td class={res ? (res.ok ? 'ok' : 'fail') : ''} data-result={res?.text ?? ''}>
                    {res?.text ?? ''}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
