// uPlot charts: a full chart with axes and legend, and a row's sparkline.
import { useEffect, useRef } from 'preact/hooks';
import type uPlot from 'uplot';
import { formatBytes, formatRate } from './format.js';
import type { ChartSpec } from './history-view.js';

const COLORS = ['#2f7ed8', '#d9822b', '#3aa655', '#a05195'];

// uPlot is fetched when the first chart or sparkline is drawn: the guests page's first paint has
// none, so its parse stays off the way there (it used to overlap the login and the list)
let uPlotModule: Promise<typeof uPlot> | undefined;
const loadUplot = () => (uPlotModule ??= import('uplot').then((m) => m.default));

/** Makes a plot once uPlot is loaded, unless the component went away first; returns the cleanup. */
function whenLoaded(make: (U: typeof uPlot) => uPlot, plot: { current: uPlot | null }): () => void {
  let gone = false;
  void loadUplot().then((U) => {
    if (!gone) plot.current = make(U);
  });
  return () => {
    gone = true;
    plot.current?.destroy();
    plot.current = null;
  };
}

const valueText = (unit: ChartSpec['unit'], v: number | null | undefined): string => {
  if (v === null || v === undefined) return '–';
  if (unit === 'bytes') return formatBytes(v);
  if (unit === 'rate') return formatRate(v);
  if (unit === 'percent') return `${v.toFixed(1)} %`;
  return String(Math.round(v * 10) / 10);
};

function useSize(el: { current: HTMLElement | null }, cb: (w: number) => void): void {
  useEffect(() => {
    const ro = new ResizeObserver((entries) => {
      const w = entries[0]?.contentRect.width;
      if (w) cb(Math.floor(w));
    });
    if (el.current) ro.observe(el.current);
    return () => ro.disconnect();
  }, []);
}

/** A chart of the last `seconds`, ending now, whatever the points cover. */
export function Chart({ spec, data, seconds }: { spec: ChartSpec; data: (number | null)[][]; seconds: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const span = useRef(seconds);
  span.current = seconds;
  const latest = useRef(data);
  latest.current = data;
  useEffect(() => {
    const axisColor = getComputedStyle(document.documentElement).getPropertyValue('--fg').trim() || '#888';
    const opts: uPlot.Options = {
      width: box.current?.clientWidth || 400,
      height: 180,
      scales: {
        x: {
          time: true,
          range: () => {
            const now = Date.now() / 1000;
            return [now - span.current, now];
          },
        },
        // at least 1 KiB/s or 1 KiB on byte scales, so that an idle guest does not draw ticks of fractions of a byte
        y: { range: (_u, _min, max) => [0, Math.max(max * 1.1, spec.unit === 'bytes' || spec.unit === 'rate' ? 1024 : 1)] },
      },
      axes: [
        { stroke: axisColor, grid: { stroke: 'rgba(128,128,128,.2)' } },
        {
          stroke: axisColor,
          size: labelWidth,
          grid: { stroke: 'rgba(128,128,128,.2)' },
          values: (_u, vals) => vals.map((v) => valueText(spec.unit, v)),
        },
      ],
      series: [
        {},
        ...spec.series.map((label, i) => ({
          label,
          stroke: COLORS[i],
          width: 1.5,
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => valueText(spec.unit, v),
          ...(label === 'limit' ? { dash: [6, 4] } : { fill: `${COLORS[i]}22` }),
        })),
      ],
    };
    return whenLoaded((U) => new U(opts, latest.current as uPlot.AlignedData, box.current!), plot);
  }, [spec.kind]);
  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data, seconds]);
  useSize(box, (w) => plot.current?.setSize({ width: w, height: 180 }));
  return (
    <figure class="chart" aria-label={`${spec.title} chart`}>
      <figcaption>{spec.title}</figcaption>
      <div ref={box} class="chart-box" />
    </figure>
  );
}

/** The width each chart's value axis was given last. */
const axisWidths = new WeakMap<uPlot, number>();

/** The value axis as wide as its longest label ("9.77 KiB/s"), so that no label is cut off at the left. */
function labelWidth(u: uPlot, values: string[] | null, axisIdx: number, cycle: number): number {
  const last = axisWidths.get(u);
  // uPlot sizes the axes again when their labels change: after two rounds the last width stands
  if ((cycle > 1 || !values) && last !== undefined) return last;
  const axis = u.axes[axisIdx]!;
  const longest = (values ?? []).reduce((a, v) => (v.length > a.length ? v : a), '');
  const font = (axis.font as unknown as string[] | undefined)?.[0];
  if (font) u.ctx.font = font;
  const ticks = (axis.ticks?.size ?? 10) + (axis.gap ?? 5);
  const width = Math.ceil(Math.max(40, ticks + u.ctx.measureText(longest).width / devicePixelRatio + 4));
  axisWidths.set(u, width);
  return width;
}

/** A small line of memory use, no axes: the trend at a glance. */
export function Sparkline({ t, values, label }: { t: number[]; values: number[]; label: string }) {
  const box = useRef<HTMLSpanElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef({ t, values });
  latest.current = { t, values };
  useEffect(() => {
    return whenLoaded(
      (U) =>
        new U(
          {
            width: 90,
            height: 22,
            legend: { show: false },
            cursor: { show: false },
            select: { show: false, left: 0, top: 0, width: 0, height: 0 },
            axes: [{ show: false }, { show: false }],
            scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.25 : 1] } },
            series: [{}, { stroke: COLORS[0], width: 1, fill: `${COLORS[0]}33` }],
          },
          [latest.current.t, latest.current.values],
          box.current!,
        ),
      plot,
    );
  }, []);
  useEffect(() => {
    plot.current?.setData([t, values]);
  }, [t, values]);
  return <span ref={box} class="spark" role="img" aria-label={label} />;
}
