// vserver du [NAME]: bytes and inodes per guest; what overlay guests share from a template apart.
import type { CliContext } from './context.js';
import { table } from './format.js';

export function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

export async function run(ctx: CliContext): Promise<number> {
  const rows = await ctx.engine().du(ctx.args.positionals);
  if (ctx.json) {
    ctx.out(`${JSON.stringify(rows)}\n`);
    return 0;
  }
  ctx.out(
    table(
      ['NAME', 'BACKEND', 'BYTES', 'INODES', 'SHARED FROM', 'SHARED BYTES', 'SHARED INODES', 'SNAPSHOTS', 'SNAPSHOT BYTES'],
      rows.map((r) => [
        r.name,
        r.mounted === false ? `${r.backend} (not mounted)` : r.backend,
        human(r.bytes),
        r.inodes,
        r.template ?? '-',
        r.sharedBytes === undefined ? '-' : human(r.sharedBytes),
        r.sharedInodes ?? '-',
        r.snapshots,
        r.snapshots === 0 ? '-' : human(r.snapshotBytes),
      ]),
    ),
  );
  if (rows.length > 1) {
    const shared = new Map(rows.filter((r) => r.template).map((r) => [r.template!, r.sharedBytes ?? 0]));
    const own = rows.reduce((a, r) => a + r.bytes, 0);
    const tpl = [...shared.values()].reduce((a, b) => a + b, 0);
    ctx.out(`total: ${human(own + tpl)} (guests' own ${human(own)}${shared.size > 0 ? `, templates counted once ${human(tpl)}` : ''})\n`);
  }
  return 0;
}
