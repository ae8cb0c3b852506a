// vserver exec NAME -- CMD [ARG...]: stdio streams through, the command's exit code comes back.
import { nameArg, type CliContext } from './context.js';

export function run(ctx: CliContext): Promise<number> {
  return ctx
    .engine()
    .exec(
      nameArg(ctx),
      ctx.args.rest,
      { stdin: 'inherit', stdout: 'inherit', stderr: 'inherit' },
      { notice: (text) => ctx.err(`vserver: ${text}\n`) },
    );
}
