// Guests that serve something, and waiting for them without sleeping longer than needed.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../src/util/proc.js';
import type { TestRoot } from './host.js';

/** Builds a busybox guest whose init starts httpd on the ports (80 by default), serving the guest's hostname. */
export async function httpGuest(t: TestRoot, name: string, ports: readonly number[] = [80]): Promise<void> {
  await t.ok(['build', name]);
  const script = join(t.paths.rootfs(name), 'etc/rc.d/S50httpd');
  const daemons = ports.map((p) => `httpd -p ${p} -h /www`).join(' && ');
  writeFileSync(script, `#!/bin/sh\n[ "$1" = start ] && hostname > /www/index.html && ${daemons}\n`);
  chmodSync(script, 0o755);
}

/** An HTTP GET from inside a guest (busybox nc, bounded to 3 s); the response, or '' if none came. */
export async function guestGet(t: TestRoot, guest: string, addr: string, port = 80): Promise<string> {
  const r = await t.cli(['exec', guest, '--', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${addr} ${port}`]);
  return r.stdout;
}

/** Polls fn until it is true; fails after timeoutMs saying what it waited for. */
export async function until(fn: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(delay);
  }
}
