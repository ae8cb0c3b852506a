// vserver top: every running guest's CPU, memory, pids, I/O and network, refreshed every second.
// On a terminal it is a full-screen view (keys sort, q quits); otherwise it prints one table.
import type { TopSampler } from '../engine/top.js';
import { sortTopRows, topRows, TOP_SORTS, type TopRow, type TopSort } from '../resources/top.js';
import { VsError } from '../util/errors.js';
import { sleep } from '../util/proc.js';
import { formatSize } from '../util/units.js';
import { wireJson } from '../wire/json.js';
import { intOpt, stringOpt, type CliContext } from './context.js';

const KEYS: Record<string, TopSort> = { c: 'cpu', m: 'mem', p: 'pids', i: 'io', n: 'net', a: 'name', x: 'ctx' };
/** Signals that end the view with the terminal put back as it was (^C comes as a key in raw mode). */
const QUIT_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const HELP = 'sort: c cpu  m memory  p pids  i io  n network  a name  x context  r reverse    q quit';

const size = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '-' : formatSize(n));

/** The table's lines: a header and one line per guest, in fixed columns. */
export function topLines(rows: readonly TopRow[]): string[] {
  const w = Math.min(24, Math.max(4, ...rows.map((r) => r.name.length)));
  const line = (c: string[]) =>
    `${c[0]!.padStart(5)} ${c[1]!.padEnd(w)} ${c
      .slice(2)
      .map((x, i) => x.padStart(i === 3 ? 5 : 7))
      .join(' ')}`;
  return [
    line(['CTX', 'NAME', 'CPU%', 'MEM', 'LIMIT', 'PIDS', 'READ/s', 'WRITE/s', 'RX/s', 'TX/s']),
    ...rows.map((r) =>
      line([
        String(r.context),
        r.name.slice(0, w),
        r.cpuPct.toFixed(1),
        size(r.memory),
        size(r.memoryMax),
        String(r.tasks),
        size(r.ioRead),
        size(r.ioWrite),
        size(r.netRx),
        size(r.netTx),
      ]),
    ),
  ];
}

function sortOption(ctx: CliContext): TopSort {
  const s = stringOpt(ctx, 'sort') ?? 'cpu';
  if (!(s in TOP_SORTS)) throw new VsError('USAGE', `unknown sort key '${s}'`, `use one of: ${Object.keys(TOP_SORTS).join(', ')}`);
  return s as TopSort;
}

export async function run(ctx: CliContext): Promise<number> {
  const sort = sortOption(ctx);
  const delay = intOpt(ctx, 'delay') ?? 1;
  if (delay < 1) throw new VsError('USAGE', '--delay must be at least 1 second', 'for example --delay 2');
  const sampler = await ctx.engine().topSampler();
  if (!process.stdout.isTTY || ctx.json) {
    const first = sampler.sample();
    await sleep(delay * 1000);
    const rows = sortTopRows(topRows(first, sampler.sample()), sort);
    ctx.out(ctx.json ? `${wireJson(rows)}\n` : `${topLines(rows).join('\n')}\n`);
    return 0;
  }
  return live(sampler, sort, delay);
}

function live(sampler: TopSampler, initialSort: TopSort, delay: number): Promise<number> {
  const out = process.stdout;
  const inp = process.stdin;
  let sort = initialSort;
  let reverse = false;
  let prev = sampler.sample();
  let rows = topRows(undefined, prev);

  const draw = () => {
    const h = sampler.host();
    const now = new Date().toTimeString().slice(0, 8);
    const head = [
      `vserver top - ${now}  ${rows.length} guest${rows.length === 1 ? '' : 's'} running  load ${h.load}  ` +
        `memory ${formatSize(h.memTotal - h.memAvailable)} used of ${formatSize(h.memTotal)}`,
      `sorted by ${sort}${reverse ? ', reversed' : ''}; ${HELP}`,
      '',
    ];
    const room = Math.max(1, (out.rows || 24) - head.length - 1);
    const lines = [...head, ...topLines(sortTopRows(rows, sort, reverse)).slice(0, room)];
    const width = out.columns || 80;
    out.write(`\x1b[H${lines.map((l) => `${l.slice(0, width)}\x1b[K`).join('\n')}\x1b[J`);
  };
  const tick = () => {
    const cur = sampler.sample();
    rows = topRows(prev, cur);
    prev = cur;
    draw();
  };

  return new Promise((resolve) => {
    const timer = setInterval(tick, delay * 1000);
    const quit = () => {
      clearInterval(timer);
      inp.off('data', onKey);
      out.off('resize', draw);
      for (const sig of QUIT_SIGNALS) process.off(sig, quit);
      if (inp.isTTY) inp.setRawMode(false);
      inp.pause();
      out.write('\x1b[?25h\x1b[?1049l');
      resolve(0);
    };
    const onKey = (b: Buffer) => {
      for (const k of b.toString('utf8')) {
        if (k === 'q' || k === '\x03' || k === '\x04') return quit();
        if (k === 'r') reverse = !reverse;
        else if (KEYS[k]) sort = KEYS[k]!;
        else continue;
        draw();
      }
    };
    out.write('\x1b[?1049h\x1b[?25l\x1b[2J');
    if (inp.isTTY) inp.setRawMode(true);
    inp.on('data', onKey);
    inp.resume();
    out.on('resize', draw);
    for (const sig of QUIT_SIGNALS) process.on(sig, quit);
    draw();
  });
}
