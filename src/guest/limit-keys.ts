// The keys of [limits] that `vserver limit` takes, in one table: its help, its errors and the
// command itself read them from here. No schema library here, so that the CLI's help stays light.

/** rlimits measured in bytes take sizes; the others whole numbers. */
export const RLIMIT_BYTES = ['fsize', 'data', 'stack', 'core', 'rss', 'memlock', 'as', 'msgqueue'] as const;
export const RLIMIT_COUNTS = ['cpu', 'nproc', 'nofile', 'locks', 'sigpending', 'nice', 'rtprio', 'rttime'] as const;
export const RLIMIT_NAMES = [...RLIMIT_COUNTS, ...RLIMIT_BYTES].sort();

export const IO_RATE_KEYS = ['read_bps', 'write_bps', 'read_iops', 'write_iops'] as const;

/** One key as users write it (DEV stands for a block device, NAME for an rlimit), and a value that fits it. */
export interface LimitKey {
  key: string;
  example: string;
}

export const LIMIT_KEY_TABLE: readonly LimitKey[] = [
  { key: 'memory.max', example: '512M' },
  { key: 'memory.high', example: '384M' },
  { key: 'memory.swap', example: '256M' },
  { key: 'cpu.weight', example: '200' },
  { key: 'cpu.shares', example: '512' },
  { key: 'cpu.max', example: '1.5' },
  { key: 'cpu.cpuset', example: '0-1' },
  { key: 'pids.max', example: '200' },
  { key: 'io.weight', example: '200' },
  { key: 'io.read_bps.DEV', example: '50M' },
  { key: 'io.write_bps.DEV', example: '50M' },
  { key: 'io.read_iops.DEV', example: '1000' },
  { key: 'io.write_iops.DEV', example: '1000' },
  { key: 'rlimits.NAME', example: '1024:4096' },
];

/** The keys `vserver limit` takes, as shown to users. */
export const LIMIT_KEYS = LIMIT_KEY_TABLE.map((k) => k.key);

/** What DEV and NAME stand for, for help and errors. */
export const LIMIT_KEY_NOTE = 'DEV is a block device such as /dev/sda, NAME an rlimit such as nofile';

/** The table's row for a key and the key's config path below [limits]; undefined for an unknown key. */
function lookup(key: string): { row: LimitKey; path: string[] } | undefined {
  for (const row of LIMIT_KEY_TABLE) {
    const parts = row.key.split('.');
    const last = parts[parts.length - 1];
    if (last !== 'DEV' && last !== 'NAME') {
      if (key === row.key) return { row, path: parts };
      continue;
    }
    const prefix = `${parts.slice(0, -1).join('.')}.`;
    const rest = key.startsWith(prefix) ? key.slice(prefix.length) : '';
    if (rest === '') continue;
    if (last === 'NAME' && !(RLIMIT_NAMES as readonly string[]).includes(rest)) continue;
    return { row, path: [...parts.slice(0, -1), rest] };
  }
  return undefined;
}

/** The config path of a limit key (below [limits]), or undefined for an unknown key. */
export function limitKeyPath(key: string): string[] | undefined {
  return lookup(key)?.path;
}

/** A value that fits a limit key, for hints. */
export function limitExample(key: string): string {
  const hit = lookup(key);
  if (!hit) return '';
  const rlimit = hit.path[0] === 'rlimits' ? hit.path[1]! : undefined;
  return rlimit !== undefined && (RLIMIT_BYTES as readonly string[]).includes(rlimit) ? '64M' : hit.row.example;
}

/** One example command per key, for `vserver limit --help`. */
export function limitExamples(name: string): string[] {
  return LIMIT_KEY_TABLE.map(
    ({ key, example }) => `vserver limit ${name} ${key.replace(/\.DEV$/, './dev/sda').replace(/\.NAME$/, '.nofile')} ${example}`,
  );
}
