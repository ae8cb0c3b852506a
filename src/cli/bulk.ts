// Printing what a start, stop or restart of many guests did: one line (or JSON object) per guest.
import type { BulkAction, BulkResult } from '../engine/index.js';
import { intOpt, stringOpt, type CliContext } from './context.js';

const DONE: Record<BulkAction, string> = { start: 'started', stop: 'stopped', restart: 'restarted' };

/** Whether the command line asks for more than one guest (several names, --all or --mark). */
export function isBulk(ctx: CliContext): boolean {
  return ctx.args.positionals.length !== 1 || ctx.args.options.all === true || stringOpt(ctx, 'mark') !== undefined;
}

export async function runBulk(ctx: CliContext, action: BulkAction): Promise<number> {
  const results = await ctx.engine().bulk(
    action,
    {
      names: ctx.args.positionals,
      all: ctx.args.options.all === true,
      mark: stringOpt(ctx, 'mark'),
    },
    { jobs: intOpt(ctx, 'jobs'), timeoutS: intOpt(ctx, 'timeout') },
  );
  return printResults(ctx, results);
}

/** One line per guest; the exit status is that of the first guest that failed, else 0. */
export function printResults(ctx: CliContext, results: readonly BulkResult[]): number {
  for (const r of results) {
    if (ctx.json) {
      ctx.out(
        `${JSON.stringify({
          name: r.name,
          action: r.action,
          ok: r.ok,
          ...(r.note ? { note: r.note } : {}),
          ...(r.info ? { state: r.info.state, context: r.info.context, pid: r.info.pid, interfaces: r.info.interfaces } : {}),
          ...(r.ok && !r.info && !r.note ? { state: 'stopped' } : {}),
          ...(r.error ? { error: r.error.toJSON() } : {}),
          seconds: +(r.ended / 1000).toFixed(3),
        })}\n`,
      );
    } else if (r.ok) {
      const addr = r.info?.interfaces?.flatMap((i) => i.addresses)[0];
      ctx.out(
        `${r.name}: ${r.note ?? DONE[r.action]}${r.info?.context !== undefined && !r.note ? ` (context ${r.info.context}${addr ? `, ${addr}` : ''})` : ''}\n`,
      );
    } else {
      ctx.err(`${r.name}: ${r.action} failed: ${r.error!.message}${r.error!.hint ? `\n  ${r.error!.hint}` : ''}\n`);
    }
  }
  const failed = results.filter((r) => !r.ok);
  if (!ctx.json && results.length > 1) {
    ctx.out(
      `${results.length - failed.length} of ${results.length} guests ${DONE[results[0]!.action]}${failed.length > 0 ? `, ${failed.length} failed` : ''}\n`,
    );
  }
  return failed[0]?.error?.exitCode ?? 0;
}
