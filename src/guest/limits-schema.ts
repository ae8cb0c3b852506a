// The [limits] section of a guest config: memory, CPU, pids, block I/O and rlimits.
import * as v from 'valibot';
import { RLIMIT_BYTES, RLIMIT_NAMES } from './limit-keys.js';
import { coresProblem, countProblem, parseCores, parseCount, parseCpuList, parseSize, sizeProblem } from '../util/units.js';

/** The smallest memory limit a guest may have: the runtime's set-up process alone needs about 2.5M inside it. */
export const MEMORY_FLOOR = 8 * 2 ** 20;
export const MEMORY_FLOOR_TEXT = '8M';

type Problem = (x: unknown) => string | undefined;
type Value = string | number;

/** Checks a value with `problem` (its message is the issue's) and hands on what `parse` makes of it. */
const valueOf = <T>(problem: Problem, parse: (x: unknown) => T | undefined) =>
  v.pipe(
    v.custom<Value>(
      (x) => (typeof x === 'string' || typeof x === 'number') && problem(x) === undefined,
      (issue) => problem(issue.input) ?? 'must be a string or a number',
    ),
    v.transform((x) => parse(x)!),
  );

const sizeAtLeast =
  (floor: number, text: string, why: string): Problem =>
  (x) => {
    const p = sizeProblem(x);
    if (p) return p;
    const n = parseSize(x);
    return typeof n === 'number' && n < floor ? `must be at least ${text}: ${why}` : undefined;
  };

/** Bytes, or 'max'. */
const memoryLimit = valueOf(
  sizeAtLeast(MEMORY_FLOOR, MEMORY_FLOOR_TEXT, "the runtime's set-up process and the guest's init need about 3M to start"),
  parseSize,
);
const size = valueOf(sizeProblem, parseSize);
const count = valueOf(countProblem, parseCount);
const positiveCount = valueOf((x) => countProblem(x) ?? (parseCount(x) === 0 ? 'must be at least 1, or "max"' : undefined), parseCount);

const int = (min: number, max: number) =>
  v.pipe(
    v.number(),
    v.integer('must be a whole number'),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );

/** The CPU numbers, sorted and unique. */
const cpuList = v.pipe(
  v.custom<Value>((x) => parseCpuList(x) !== undefined, 'must be a list of CPU numbers such as "0-3,6"'),
  v.transform((x) => parseCpuList(x)!),
);

const device = v.pipe(v.string(), v.regex(/^(\/dev\/\S+|\d+:\d+)$/, 'must name a block device: a path under /dev or MAJOR:MINOR'));

export { RLIMIT_NAMES } from './limit-keys.js';

/** An rlimit: one value for soft and hard, "SOFT:HARD", or [SOFT, HARD]; each a number, a size or "unlimited". */
function parseRlimit(name: string, x: unknown): { soft: number; hard: number } | undefined {
  const one = (y: unknown): number | undefined => {
    const n = (RLIMIT_BYTES as readonly string[]).includes(name) ? parseSize(y) : parseCount(y);
    return n === 'max' ? Infinity : n;
  };
  let pair: unknown[];
  if (Array.isArray(x)) pair = x;
  else if (typeof x === 'string' && x.includes(':')) pair = x.split(':');
  else pair = [x, x];
  if (pair.length !== 2) return undefined;
  const [soft, hard] = pair.map(one);
  if (soft === undefined || hard === undefined || soft > hard) return undefined;
  return { soft, hard };
}

function rlimitProblem(name: string): Problem {
  return (x) => {
    if (parseRlimit(name, x) !== undefined) return undefined;
    const parts = Array.isArray(x) ? x : typeof x === 'string' ? x.split(':') : [x];
    if (parts.some((p) => (typeof p === 'number' && p < 0) || (typeof p === 'string' && /^\s*-/.test(p)))) return 'must not be negative';
    const unit = (RLIMIT_BYTES as readonly string[]).includes(name) ? 'a size such as 64M' : 'a whole number';
    return `must be ${unit}, "unlimited", or "SOFT:HARD" with SOFT not above HARD`;
  };
}

/** Soft and hard limit; Infinity for unlimited. */
const rlimit = (name: string) =>
  v.pipe(
    v.custom<Value | Value[]>(
      (x) => parseRlimit(name, x) !== undefined,
      (issue) => rlimitProblem(name)(issue.input) ?? 'is not a valid limit',
    ),
    v.transform((x) => parseRlimit(name, x)!),
  );

export const LimitsSchema = v.pipe(
  v.strictObject({
    memory: v.optional(
      v.strictObject({
        /** Hard limit: above it the kernel reclaims, then OOM-kills inside the guest. */
        max: v.optional(memoryLimit),
        /** Soft limit: above it the guest is slowed and reclaimed (cgroup v2 memory.high, v1 soft limit). */
        high: v.optional(memoryLimit),
        /** Swap the guest may use on top of `max`. */
        swap: v.optional(size),
      }),
    ),
    cpu: v.optional(
      v.strictObject({
        /** Relative share, 1-10000, default 100 (cgroup v2 cpu.weight). */
        weight: v.optional(int(1, 10000)),
        /** The same as cgroup v1 shares, 2-262144, default 1024. */
        shares: v.optional(int(2, 262144)),
        /** At most this many cores' worth of CPU time, for example 0.5 or "1.5". */
        max: v.optional(valueOf(coresProblem, parseCores)),
        cpuset: v.optional(cpuList),
      }),
    ),
    pids: v.optional(v.strictObject({ max: v.optional(positiveCount) })),
    io: v.optional(
      v.strictObject({
        /** Relative share of disk time, 10-1000, default 100 (needs the BFQ scheduler on cgroup v1). */
        weight: v.optional(int(10, 1000)),
        read_bps: v.optional(v.record(device, size)),
        write_bps: v.optional(v.record(device, size)),
        read_iops: v.optional(v.record(device, count)),
        write_iops: v.optional(v.record(device, count)),
      }),
    ),
    rlimits: v.optional(
      v.strictObject(
        Object.fromEntries(RLIMIT_NAMES.map((n) => [n, v.optional(rlimit(n))])) as Record<
          (typeof RLIMIT_NAMES)[number],
          v.OptionalSchema<ReturnType<typeof rlimit>, undefined>
        >,
      ),
    ),
  }),
  v.forward(
    v.check(
      (l) => l.cpu?.weight === undefined || l.cpu?.shares === undefined,
      'must not be set together with cpu.shares: both say the same thing, keep one',
    ),
    ['cpu', 'weight'],
  ),
  v.forward(
    v.check(
      (l) => l.memory?.swap === undefined || l.memory.max !== undefined,
      'is only allowed together with memory.max: swap is counted on top of it',
    ),
    ['memory', 'swap'],
  ),
);

/** The limits with typed values: bytes, counts and cores (or 'max'), CPU numbers, rlimits as soft and hard. */
export type Limits = v.InferOutput<typeof LimitsSchema>;
/** The limits as the user wrote them, which is what is shown and written back. */
export type LimitsInput = v.InferInput<typeof LimitsSchema>;
