// vserver receive NAME: the target's side of migrate, started by it over ssh; JSON lines on stdin and stdout.
import { nameArg, type CliContext } from './context.js';

export async function run(ctx: CliContext): Promise<number> {
  // sshd hangs up when the link dies: that ends the input, so that what was staged is taken back
  for (const s of ['SIGHUP', 'SIGTERM', 'SIGPIPE'] as const) process.on(s, () => process.stdin.destroy());
  await ctx.engine().receive(nameArg(ctx), process.stdin, (msg) => ctx.out(`${JSON.stringify(msg)}\n`));
  return 0;
}
