// /proc files that tell a guest about the host kernel: masked, as the runtime masks /proc/keys.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

describe.skipIf(!IS_ROOT)('masked /proc files', () => {
  const t = new TestRoot('procmask');
  afterAll(() => t.cleanup());

  it.skipIf(!existsSync('/proc/config.gz'))('gives a guest an empty /proc/config.gz; the host still reads the kernel config', async () => {
    expect(readFileSync('/proc/config.gz').length).toBeGreaterThan(1000);
    await t.ok(['build', 'm1']);
    await t.ok(['start', 'm1']);
    expect((await t.ok(['exec', 'm1', '--', 'sh', '-c', 'wc -c < /proc/config.gz'])).trim()).toBe('0');
    expect((await t.ok(['exec', 'm1', '--', 'sh', '-c', 'wc -c < /proc/keys'])).trim()).toBe('0');
    await t.ok(['stop', 'm1', '--timeout', '0']);
  });
});
