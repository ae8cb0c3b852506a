// vserver check: one line per thing the host must offer for guests (OK / WARN / FAIL, and the fix).
import type { CheckItem } from '../engine/index.js';
import type { CliContext } from './context.js';

export function checkLines(items: readonly CheckItem[]): string {
  const w = Math.max(...items.map((i) => i.item.length));
  return items.map((i) => `${i.status.padEnd(4)}  ${i.item.padEnd(w)}  ${i.detail}${i.fix ? `\n      fix: ${i.fix}` : ''}\n`).join('');
}

export async function run(ctx: CliContext): Promise<number> {
  const items = await ctx.engine().check();
  ctx.out(ctx.json ? `${JSON.stringify({ items })}\n` : checkLines(items));
  return items.some((i) => i.status === 'FAIL') ? 1 : 0;
}
