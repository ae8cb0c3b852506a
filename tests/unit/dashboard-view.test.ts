// The dashboard's view logic: rows, sorting, filtering, events, bulk results, charts, routes.
import { describe, expect, it } from 'vitest';
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
} from '../../src/dashboard/guests-view.js';
import { chartData, latest } from '../../src/dashboard/history-view.js';
import { parseRoute, routeHash, tokenFromHash } from '../../src/dashboard/route.js';
import { formatBytes, formatCpu, formatDuration, formatMemory } from '../../src/dashboard/format.js';
import type { LifecycleEventType } from '../../src/wire/events.js';
import type { GuestInfo, GuestState } from '../../src/wire/guest.js';
import type { HistoryPoint } from '../../src/wire/history.js';

const guest = (name: string, state: GuestState, extra: Partial<GuestInfo> = {}): GuestInfo => ({
  name,
  context: 100,
  state,
  init: 'plain',
  backend: 'dir',
  ...extra,
});
const point = (t: number, extra: Partial<HistoryPoint> = {}): HistoryPoint => ({
  t,
  cpu: 0.5,
  memory: 1 << 20,
  memoryLimit: null,
  rx: 0,
  tx: 0,
  read: 0,
  write: 0,
  processes: 2,
  ...extra,
});

describe('guest rows', () => {
  const guests = [
    guest('web2', 'running', { context: 102, mark: 'web', interfaces: [{ mode: 'bridge', addresses: ['10.47.0.3/16'] }] }),
    guest('db1', 'stopped', { context: 101, interfaces: [{ mode: 'bridge', addresses: ['auto'] }] }),
    guest('web1', 'running', { context: 100, mark: 'web', uptime: 30 }),
  ];
  const history = {
    web2: [point(10, { memory: 100 }), point(15, { cpu: 1.5, memory: 300, memoryLimit: 1000 })],
    web1: [point(15, { cpu: 0.1, memory: 900 })],
    db1: [point(1)],
  };
  const rows = toRows(guests, history);

  it('take the latest figures of running guests only, with the memory trend, and no placeholder addresses', () => {
    expect(rows[0]).toMatchObject({
      name: 'web2',
      cpu: 1.5,
      memory: 300,
      memoryLimit: 1000,
      addresses: ['10.47.0.3/16'],
      spark: { t: [10, 15], memory: [100, 300] },
    });
    expect(rows[1]).toMatchObject({ name: 'db1', addresses: [], spark: { t: [], memory: [] } });
    expect(rows[1]!.cpu).toBeUndefined();
  });

  it('sort by any column, ties by name, either way', () => {
    expect(sortRows(rows, 'name').map((r) => r.name)).toEqual(['db1', 'web1', 'web2']);
    expect(sortRows(rows, 'cpu', true).map((r) => r.name)).toEqual(['web2', 'web1', 'db1']);
    expect(sortRows(rows, 'context').map((r) => r.context)).toEqual([100, 101, 102]);
    expect(sortRows(rows, 'state').map((r) => r.name)).toEqual(['web1', 'web2', 'db1']);
    expect(sortRows(rows, 'memory').map((r) => r.name)).toEqual(['db1', 'web2', 'web1']);
  });

  it('filter by name or address, state and mark', () => {
    const names = (f: Partial<{ text: string; state: string; mark: string }>) =>
      filterRows(rows, { text: '', state: '', mark: '', ...f }).map((r) => r.name);
    expect(names({ text: 'WEB' })).toEqual(['web2', 'web1']);
    expect(names({ text: '10.47.0.3' })).toEqual(['web2']);
    expect(names({ state: 'stopped' })).toEqual(['db1']);
    expect(names({ mark: 'web', state: 'running' })).toEqual(['web2', 'web1']);
    expect(names({ mark: 'db' })).toEqual([]);
    expect(marks(rows)).toEqual(['web']);
  });

  it('change with lifecycle events without a reload, and refetch for what the event does not carry', () => {
    const e = (type: LifecycleEventType, g: string) => ({ type, guest: g, time: '2026-01-01T00:00:00Z' });
    expect(applyEvent(guests, e('stopped', 'web1'))).toMatchObject({
      refetch: false,
      guests: [{ state: 'running' }, { state: 'stopped' }, { name: 'web1', state: 'stopped', uptime: undefined }],
    });
    expect(applyEvent(guests, e('started', 'db1'))).toMatchObject({ refetch: true, guests: [{}, { name: 'db1', state: 'running' }, {}] });
    expect(applyEvent(guests, e('deleted', 'db1')).guests.map((g) => g.name)).toEqual(['web2', 'web1']);
    expect(applyEvent(guests, e('built', 'new1'))).toMatchObject({ refetch: true, guests: guests });
    expect(applyEvent(guests, e('limit-changed', 'web1'))).toEqual({ refetch: false, guests });
  });

  it('show each guest its own bulk result, and keep the selection to the rows shown', () => {
    const out = bulkOutcome([
      { name: 'a', action: 'stop', ok: true, state: 'stopped' },
      { name: 'b', action: 'stop', ok: true, note: 'not running' },
      { name: 'c', action: 'stop', ok: false, error: "guest 'c' is locked", hint: 'wait' },
    ]);
    expect([...out]).toEqual([
      ['a', { ok: true, text: 'stop: stopped' }],
      ['b', { ok: true, text: 'not running' }],
      ['c', { ok: false, text: "guest 'c' is locked (wait)" }],
    ]);
    expect([...keepSelected(new Set(['web1', 'gone']), rows)]).toEqual(['web1']);
  });

  it('draw the rows that fill the window first, then more in steps until all are drawn', () => {
    const many = Array.from({ length: 300 }, (_, i) => i);
    const first = rowsToDraw(many, 0, 720);
    // a 720 px window holds under 26 rows of 28 px: those and a few more, never fewer than fill it
    expect(first.length).toBeGreaterThanOrEqual(26);
    expect(first.length).toBeLessThan(40);
    expect(first).toEqual(many.slice(0, first.length));
    expect(rowsToDraw(many, 0, 2160).length).toBeGreaterThanOrEqual(78);
    // each step draws more, and the step that reaches the end draws every row from then on
    let drawn = 0;
    const seen: number[] = [];
    for (let shown = first.length; drawn !== Infinity; shown = rowsToDraw(many, drawn, 720).length) {
      drawn = moreRows(shown, many.length);
      seen.push(rowsToDraw(many, drawn, 720).length);
    }
    expect(seen.length).toBeGreaterThan(2);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(300);
    expect(rowsToDraw([...many, 300], drawn, 720).length).toBe(301);
    expect(rowsToDraw([1, 2], 0, 720)).toEqual([1, 2]);
  });
});

describe('charts', () => {
  it('give uPlot one column per series and a gap where sampling stopped', () => {
    const pts = [point(100, { rx: 1, tx: 2 }), point(105, { rx: 3, tx: 4 }), point(200, { rx: 5, tx: 6 })];
    expect(chartData(pts, 'net', 5)).toEqual([
      [100, 105, 110, 200],
      [1, 3, null, 5],
      [2, 4, null, 6],
    ]);
    expect(chartData(pts, 'cpu', 5)[1]).toEqual([50, 50, null, 50]);
    expect(chartData([point(1, { memoryLimit: 4096 })], 'memory', 5)).toEqual([[1], [1 << 20], [4096]]);
    expect(chartData([], 'disk', 5)).toEqual([[], [], []]);
    expect(latest(pts, 'processes')).toEqual([2]);
  });
});

describe('routes and figures', () => {
  it('read the page from the fragment and back', () => {
    expect(parseRoute('')).toEqual({ page: 'guests' });
    expect(parseRoute('#/guest/web1/console')).toEqual({ page: 'guest', name: 'web1', tab: 'console' });
    expect(parseRoute('#/guest/web1/nonsense')).toEqual({ page: 'guest', name: 'web1', tab: 'overview' });
    expect(parseRoute('#/host')).toEqual({ page: 'host' });
    expect(routeHash({ page: 'guest', name: 'a-b', tab: 'config' })).toBe('#/guest/a-b/config');
    expect(routeHash({ page: 'guest', name: 'x', tab: 'overview' })).toBe('#/guest/x');
  });

  it('take the login token only from a well-formed #token= fragment', () => {
    expect(tokenFromHash('#token=abcDEF0123_-xyz')).toBe('abcDEF0123_-xyz');
    expect(tokenFromHash('#/guests')).toBeUndefined();
    expect(tokenFromHash('#token=<script>')).toBeUndefined();
  });

  it('print sizes, durations, CPU and memory as the CLI does', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(64 * 2 ** 20)).toBe('64.0 MiB');
    expect(formatBytes(undefined)).toBe('–');
    expect(formatDuration(59)).toBe('59 s');
    expect(formatDuration(245)).toBe('4m05s');
    expect(formatDuration(3 * 3600 + 7 * 60)).toBe('3h07m');
    expect(formatDuration(2 * 86400 + 4 * 3600)).toBe('2d04h');
    expect(formatCpu(0.052)).toBe('5.2 %');
    expect(formatCpu(1.5)).toBe('150 %');
    expect(formatMemory(2 ** 20, null)).toBe('1.00 MiB');
    expect(formatMemory(2 ** 20, 2 ** 30)).toBe('1.00 MiB / 1.00 GiB');
  });
});
