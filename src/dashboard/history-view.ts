// History points as the columns a uPlot chart draws, with a gap where sampling stopped.
import type { HistoryPoint, HistoryRange } from '../wire/history.js';

export type ChartKind = 'cpu' | 'memory' | 'net' | 'disk' | 'processes';

export interface ChartSpec {
  kind: ChartKind;
  title: string;
  unit: 'percent' | 'bytes' | 'rate' | 'count';
  series: string[];
}

export const CHARTS: readonly ChartSpec[] = [
  { kind: 'cpu', title: 'CPU', unit: 'percent', series: ['CPU %'] },
  { kind: 'memory', title: 'Memory', unit: 'bytes', series: ['used', 'limit'] },
  { kind: 'net', title: 'Network', unit: 'rate', series: ['receive', 'transmit'] },
  { kind: 'disk', title: 'Disk', unit: 'rate', series: ['read', 'write'] },
  { kind: 'processes', title: 'Processes', unit: 'count', series: ['processes'] },
];

export const RANGES: readonly { range: HistoryRange; label: string; seconds: number }[] = [
  { range: '5m', label: '5 min', seconds: 300 },
  { range: '1h', label: '1 h', seconds: 3600 },
  { range: '24h', label: '24 h', seconds: 86400 },
];

const pick = (p: HistoryPoint, kind: ChartKind): (number | null)[] => {
  switch (kind) {
    case 'cpu':
      return [p.cpu * 100];
    case 'memory':
      return [p.memory, p.memoryLimit];
    case 'net':
      return [p.rx, p.tx];
    case 'disk':
      return [p.read, p.write];
    case 'processes':
      return [p.processes];
  }
};

/** [times, ...one column per series]; a null row where two points lie more than two steps apart. */
export function chartData(points: readonly HistoryPoint[], kind: ChartKind, step: number): (number | null)[][] {
  const width = CHARTS.find((c) => c.kind === kind)!.series.length;
  const cols: (number | null)[][] = Array.from({ length: width + 1 }, () => []);
  let prev: number | undefined;
  for (const p of points) {
    if (prev !== undefined && p.t - prev > 2 * step) {
      cols[0]!.push(prev + step);
      for (let i = 1; i <= width; i++) cols[i]!.push(null);
    }
    cols[0]!.push(p.t);
    pick(p, kind).forEach((v, i) => {
      cols[i + 1]!.push(v);
    });
    prev = p.t;
  }
  return cols;
}

/** The latest value of each series, for the chart's caption. */
export function latest(points: readonly HistoryPoint[], kind: ChartKind): (number | null)[] | undefined {
  const p = points.at(-1);
  return p === undefined ? undefined : pick(p, kind);
}
