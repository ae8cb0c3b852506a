// How the dashboard prints figures: sizes in binary units like the CLI, durations, percentages.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const text = u === 0 ? String(Math.round(v)) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${n < 0 ? '-' : ''}${text} ${UNITS[u]}`;
}

export const formatRate = (n: number | null | undefined): string => (n === null || n === undefined ? '–' : `${formatBytes(n)}/s`);

/** 0 s, 59 s, 4m05s, 3h07m, 2d04h: the two largest units. */
export function formatDuration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec) || sec < 0) return '–';
  const s = Math.floor(sec);
  if (s < 60) return `${s} s`;
  const pad = (x: number) => String(x).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${pad(Math.floor((s % 86400) / 3600))}h`;
}

/** CPU in cores as a percentage of one core, like top. */
export function formatCpu(cores: number | null | undefined): string {
  if (cores === null || cores === undefined || !Number.isFinite(cores)) return '–';
  const pct = cores * 100;
  return `${pct < 10 ? pct.toFixed(1) : pct.toFixed(0)} %`;
}

/** "used / limit" or "used" when there is no limit. */
export function formatMemory(used: number | null | undefined, limit: number | null | undefined): string {
  return limit === null || limit === undefined ? formatBytes(used) : `${formatBytes(used)} / ${formatBytes(limit)}`;
}
