// Putting a host program into a guest's tree for a test, with the shared libraries it needs.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Copies `program` to `dest` inside rootfs, and each library ldd names to the same path there. */
export function installHostProgram(rootfs: string, program: string, dest: string): void {
  const out = execFileSync('ldd', [program]).toString();
  const libs = [...out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]!);
  for (const lib of libs) {
    const to = join(rootfs, lib);
    if (existsSync(to)) continue;
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(realpathSync(lib), to);
  }
  mkdirSync(dirname(join(rootfs, dest)), { recursive: true });
  copyFileSync(program, join(rootfs, dest));
  chmodSync(join(rootfs, dest), 0o755);
}
