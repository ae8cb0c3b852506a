// vserver config NAME [KEY [VALUE]] [--unset]
import { parseValue, toToml } from '../guest/config.js';
import { VsError } from '../util/errors.js';
import { nameArg, type CliContext } from './context.js';

export async function run(ctx: CliContext): Promise<number> {
  const name = nameArg(ctx);
  const [, key, value] = ctx.args.positionals;
  const engine = ctx.engine();
  if (ctx.args.options.unset) {
    if (!key || value !== undefined)
      throw new VsError('USAGE', '--unset takes a KEY and no VALUE', `for example: vserver config ${name} stop_timeout --unset`);
    await engine.setConfig(name, key, undefined);
    if (!ctx.json) ctx.out(`${name}: ${key} removed\n`);
    return 0;
  }
  if (key === undefined) {
    const cfg = await engine.config(name);
    ctx.out(ctx.json ? `${JSON.stringify(cfg)}\n` : toToml(cfg as unknown as Record<string, unknown>));
    return 0;
  }
  if (value === undefined) {
    const v = await engine.configKey(name, key);
    ctx.out(ctx.json ? `${JSON.stringify(v)}\n` : `${typeof v === 'string' ? v : JSON.stringify(v)}\n`);
    return 0;
  }
  await engine.setConfig(name, key, parseValue(value));
  if (!ctx.json) ctx.out(`${name}: ${key} = ${JSON.stringify(parseValue(value))} (takes effect at the next start)\n`);
  return 0;
}
