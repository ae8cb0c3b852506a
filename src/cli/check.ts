// vserver check: one line per thing the host must offer for guests (OK / WARN / FAIL, and the fix);
// with --escape, a table of escape attempts made as root in a throw-away guest.
import type { CheckItem, EscapeRun } from '../engine/index.js';
import { VsError } from '../util/errors.js';
import { stringOpt, type CliContext } from './context.js';

export function checkLines(items: readonly CheckItem[]): string {
  const w = Math.max(...items.map((i) => i.item.length));
  return items.map((i) => `${i.status.padEnd(4)}  ${i.item.padEnd(w)}  ${i.detail}${i.fix ? `\n      fix: ${i.fix}` : ''}\n`).join('');
}

export function escapeTable(runs: readonly EscapeRun[]): string {
  const head = ['attempt', 'mode', 'result', 'what refused it'];
  const body = runs.flatMap((r) =>
    r.rows.map((x) => [
      x.attempt,
      r.like ? `like ${r.like}` : r.mode,
      x.result,
      x.result === 'ESCAPED' ? `got through: ${x.detail}` : x.detail,
    ]),
  );
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const through = runs.flatMap((r) => r.rows.filter((x) => x.result === 'ESCAPED' || x.result === 'no answer').map((x) => x.attempt));
  return `${[head, ...body]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(w[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n${
    through.length === 0
      ? 'OK    escape attempts: every one was refused\n'
      : `FAIL  escape attempts that got through: ${[...new Set(through)].join(', ')}\n`
  }`;
}

export async function run(ctx: CliContext): Promise<number> {
  const escape = ctx.args.options.escape === true;
  const like = stringOpt(ctx, 'like');
  if (!escape && (like !== undefined || ctx.args.options.privileged === true)) {
    throw new VsError(
      'USAGE',
      '--privileged and --like only choose the guest of --escape',
      'add --escape, for example: vserver check --escape --privileged',
    );
  }
  const engine = ctx.engine();
  const items = await engine.check();
  if (!ctx.json) ctx.out(checkLines(items));
  const runs = escape ? await engine.escapeCheck({ privileged: ctx.args.options.privileged === true, ...(like ? { like } : {}) }) : [];
  if (ctx.json) ctx.out(`${JSON.stringify({ items, ...(escape ? { escape: runs } : {}) })}\n`);
  else if (escape) ctx.out(`\n${escapeTable(runs)}`);
  const escaped = runs.some((r) => r.rows.some((x) => x.result === 'ESCAPED' || x.result === 'no answer'));
  return items.some((i) => i.status === 'FAIL') || escaped ? 1 : 0;
}
