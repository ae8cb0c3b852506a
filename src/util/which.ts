// Finding programs on PATH without a shell.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

const FALLBACK = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function which(program: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (program.includes('/')) return isExecutable(program) ? program : undefined;
  const dirs = [...(env.PATH ?? '').split(':').filter(Boolean), ...FALLBACK];
  for (const d of dirs) {
    const p = join(d, program);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

export function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
