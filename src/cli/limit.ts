// vserver limit NAME [KEY [VALUE]]: show or change a guest's limits, on the running guest at once.
import { toToml } from '../guest/config.js';
import { limitKeyPath } from '../guest/limit-keys.js';
import { VsError } from '../util/errors.js';
import { nameArg, type CliContext } from './context.js';

export async function run(ctx: CliContext): Promise<number> {
  const name = nameArg(ctx);
  const [, key, value] = ctx.args.positionals;
  const engine = ctx.engine();
  if (key === undefined || value === undefined) {
    const limits = (await engine.limits(name)) as Record<string, unknown>;
    if (key === undefined) {
      ctx.out(ctx.json ? `${JSON.stringify(limits)}\n` : toToml(Object.keys(limits).length > 0 ? { limits } : {}));
      return 0;
    }
    const path = limitKeyPath(key);
    const v = path?.reduce<unknown>((t, k) => (t && typeof t === 'object' ? (t as Record<string, unknown>)[k] : undefined), limits);
    if (v === undefined) {
      throw new VsError('NOT_FOUND', `limit '${key}' is not set for guest '${name}'`, `set it with 'vserver limit ${name} ${key} VALUE'`);
    }
    ctx.out(ctx.json ? `${JSON.stringify(v)}\n` : `${typeof v === 'string' ? v : JSON.stringify(v)}\n`);
    return 0;
  }
  const r = await engine.setLimit(name, key, value);
  for (const w of r.warnings) ctx.err(`vserver: warning: ${w}\n`);
  if (ctx.json) ctx.out(`${JSON.stringify(r)}\n`);
  else ctx.out(`${name}: ${key} = ${JSON.stringify(r.value)} (${r.live ? 'in force now' : 'takes effect at the next start'})\n`);
  return 0;
}
