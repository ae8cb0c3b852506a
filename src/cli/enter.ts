// vserver enter NAME: a login shell on a pseudo-terminal.
import { nameArg, type CliContext } from './context.js';

export function run(ctx: CliContext): Promise<number> {
  return ctx.engine().enter(nameArg(ctx), { stdin: 'inherit', stdout: 'inherit', stderr: 'inherit' });
}
