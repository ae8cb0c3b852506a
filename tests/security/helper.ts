// The escape helper: a static C program built once per run and copied into guests.
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, existsSync, lchownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Compiles escape.c with gcc -static into dir (gcc and libc6-dev are installed by .ci/run). */
export function buildEscapeHelper(dir: string): string {
  const out = join(dir, 'escape-helper');
  if (!existsSync(out)) execFileSync('gcc', ['-static', '-O2', '-Wall', '-o', out, join(__dirname, 'escape.c')], { stdio: 'pipe' });
  return out;
}

/** Puts the helper at /usr/local/bin/escape in a stopped guest's tree, owned by the guest's root. */
export function installHelper(helper: string, rootfs: string, owner: number): void {
  const dir = join(rootfs, 'usr/local/bin');
  mkdirSync(dir, { recursive: true });
  const dest = join(dir, 'escape');
  copyFileSync(helper, dest);
  chmodSync(dest, 0o755);
  lchownSync(dest, owner, owner);
}
