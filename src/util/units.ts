// Sizes, CPU counts and CPU lists as people write them ("512M", "1.5", "0-3,6"), and back; durations and
// rlimits as the tools print them. No imports: the dashboard's bundle shares this file.

/** Words that mean "no limit", as cgroup v2 and ulimit spell it. */
export const UNLIMITED_WORDS = ['max', 'unlimited'] as const;
export type Unlimited = 'max';

const SIZE = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i;
const SCALE: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

export function isUnlimited(x: unknown): boolean {
  return typeof x === 'string' && (UNLIMITED_WORDS as readonly string[]).includes(x.trim().toLowerCase());
}

/** Bytes from a size (a whole number of bytes, or "512M", "1.5G"; K/M/G/T are powers of 1024), 'max', or undefined. */
export function parseSize(x: unknown): number | Unlimited | undefined {
  if (isUnlimited(x)) return 'max';
  if (typeof x === 'number') return Number.isSafeInteger(x) && x >= 0 ? x : undefined;
  if (typeof x !== 'string') return undefined;
  const m = SIZE.exec(x.trim());
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * SCALE[m[2]!.toLowerCase()]!);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Why `parse` refuses a value, in words that fit after the key's name; undefined when it takes it. */
// the annotation lets a bundle that uses none of the checks below (the dashboard's) leave them out
/* @__NO_SIDE_EFFECTS__ */
function problemOf(parse: (x: unknown) => unknown, expected: string): (x: unknown) => string | undefined {
  return (x) => (parse(x) !== undefined ? undefined : isNegative(x) ? 'must not be negative' : expected);
}

export const sizeProblem = problemOf(parseSize, 'must be a size such as 512M, 2G or a number of bytes, or "max"');

/** A whole count (processes, operations per second) or 'max'. */
export function parseCount(x: unknown): number | Unlimited | undefined {
  if (isUnlimited(x)) return 'max';
  const n = typeof x === 'string' && /^\s*\d+\s*$/.test(x) ? Number(x) : x;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

export const countProblem = problemOf(parseCount, 'must be a whole number, or "max"');

/** CPU cores as a fraction ("1.5" = one and a half cores' worth of time), or 'max'. */
export function parseCores(x: unknown): number | Unlimited | undefined {
  if (isUnlimited(x)) return 'max';
  const n = typeof x === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(x) ? Number(x) : x;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}

const coresOrZero = problemOf(parseCores, 'must be a number of CPU cores such as 0.5 or "1.5", or "max"');

export function coresProblem(x: unknown): string | undefined {
  return x === 0 || x === '0' ? 'must be more than 0 (remove the key for no limit)' : coresOrZero(x);
}

function isNegative(x: unknown): boolean {
  return (typeof x === 'number' && x < 0) || (typeof x === 'string' && /^\s*-\s*\d/.test(x));
}

/** CPU numbers of a list such as "0-3,6", sorted and unique; undefined if it does not parse. */
export function parseCpuList(x: unknown): number[] | undefined {
  const s = typeof x === 'number' ? String(x) : x;
  if (typeof s !== 'string' || !/^\s*\d+(-\d+)?(\s*,\s*\d+(-\d+)?)*\s*$/.test(s)) return undefined;
  const out = new Set<number>();
  for (const part of s.split(',')) {
    const [a, b] = part.trim().split('-').map(Number) as [number, number | undefined];
    const end = b ?? a;
    if (end < a || end - a > 65536) return undefined;
    for (let i = a; i <= end; i++) out.add(i);
  }
  return [...out].sort((p, q) => p - q);
}

/** The shortest list form: [0,1,2,3,6] -> "0-3,6". */
export function formatCpuList(cpus: readonly number[]): string {
  const s = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; i++) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    parts.push(i === j ? String(s[i]) : `${s[i]}-${s[j]}`);
    i = j;
  }
  return parts.join(',');
}

/**
 * A size as util-vserver's vserver-stat prints it: scaled by 1024 until below 1000, one decimal
 * (cut, not rounded), suffix K, M, G or T: "928.0K", "153.4M", "1.4G".
 */
export function formatSize(bytes: number): string {
  const units = ['K', 'M', 'G', 'T'];
  let v = Math.max(0, bytes) / 1024;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${(Math.floor(v * 10) / 10).toFixed(1)}${units[i]}`;
}

/** The inverse of formatSize, to the precision printed (for reading our own tables back). */
export function parseFormattedSize(s: string): number | undefined {
  const m = /^(\d+\.\d)([KMGT])$/.exec(s);
  return m ? Number(m[1]) * 1024 ** (1 + 'KMGT'.indexOf(m[2]!)) : undefined;
}

/** Uptime as util-vserver's vserver-stat prints it: MmSSsMS, HhMMmSS or DdHHhMM. */
export function formatDuration(seconds: number, millis = 0): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d${two(h)}h${two(m)}`;
  if (h > 0) return `${h}h${two(m)}m${two(sec)}`;
  return `${m}m${two(sec)}s${two(Math.floor(millis / 10))}`;
}

/** An rlimit value as prlimit and ulimit write it. */
export const rlimitText = (n: number): string => (Number.isFinite(n) ? String(n) : 'unlimited');
