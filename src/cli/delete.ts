// vserver delete NAME [--force]
import { nameArg, type CliContext } from './context.js';

export async function run(ctx: CliContext): Promise<number> {
  const name = nameArg(ctx);
  const snapshots = (
    await ctx
      .engine()
      .snapshotList(name)
      .catch(() => [])
  ).length;
  await ctx.engine().delete(name, { force: ctx.args.options.force === true });
  ctx.out(
    ctx.json
      ? `${JSON.stringify({ name, deleted: true, snapshots })}\n`
      : `deleted guest ${name}${snapshots > 0 ? ` and its ${snapshots} snapshot${snapshots === 1 ? '' : 's'}` : ''}\n`,
  );
  return 0;
}
