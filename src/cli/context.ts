// What every verb gets: the parsed command line, the engine, and where to print.
import type { Engine } from '../engine/index.js';
import type { ParsedArgs } from './argv.js';

export interface CliContext {
  args: ParsedArgs;
  json: boolean;
  engine: () => Engine;
  out: (text: string) => void;
  err: (text: string) => void;
}

export function stringOpt(ctx: CliContext, name: string): string | undefined {
  const v = ctx.args.options[name];
  return typeof v === 'string' ? v : undefined;
}

export function intOpt(ctx: CliContext, name: string): number | undefined {
  const v = ctx.args.options[name];
  return typeof v === 'number' ? v : undefined;
}

/** The guest name: the first positional (the parser has already checked it is there). */
export function nameArg(ctx: CliContext): string {
  return ctx.args.positionals[0]!;
}
