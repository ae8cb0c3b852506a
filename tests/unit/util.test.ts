import { spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { table } from '../../src/cli/format.js';
import { formatDuration } from '../../src/util/units.js';
import { isStaticElf } from '../../src/storage/elf.js';
import { writeFileAtomic } from '../../src/util/atomic.js';
import { acquireLock, lockHeld, sweepDeadLocks } from '../../src/util/lock.js';
import { Paths } from '../../src/util/paths.js';
import { ownRlimits, processStartTime } from '../../src/util/procfs.js';
import { Revert } from '../../src/util/revert.js';

const tmps: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'vsu-'));
  tmps.push(d);
  return d;
};
afterEach(() => {
  for (const t of tmps.splice(0)) rmSync(t, { recursive: true, force: true });
});

describe('locks', () => {
  it('lets one holder in at a time and names the holder when busy', async () => {
    const path = join(tmp(), 'web1.lock');
    const a = await acquireLock(path, 'vserver start web1');
    expect(lockHeld(path)).toBe(true);
    await expect(acquireLock(path, 'vserver stop web1', 50)).rejects.toThrow(
      /guest 'web1' is busy: pid \d+ is running 'vserver start web1'/,
    );
    a.release();
    expect(lockHeld(path)).toBe(false);
    (await acquireLock(path, 'again', 50)).release();
  });

  it('waits for a holder that releases', async () => {
    const path = join(tmp(), 'g.lock');
    const a = await acquireLock(path, 'first');
    setTimeout(() => a.release(), 100);
    const t0 = Date.now();
    (await acquireLock(path, 'second', 5000)).release();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
  });

  it("hands the lock to this process's next waiter in turn, and a waiter that gives up keeps no one out", async () => {
    const path = join(tmp(), 'q.lock');
    const a = await acquireLock(path, 'first');
    const order: string[] = [];
    const waiter = (name: string, timeoutMs?: number) =>
      acquireLock(path, name, timeoutMs).then((l) => {
        order.push(name);
        expect(lockHeld(path)).toBe(true);
        return l;
      });
    const b = waiter('b');
    const late = acquireLock(path, 'late', 50);
    const c = waiter('c');
    await expect(late).rejects.toThrow(/is busy: pid \d+ is running 'first'/);
    a.release();
    const lb = await b;
    expect(order).toEqual(['b']); // c waits for b, not for a poll of the file
    lb.release();
    (await c).release();
    expect(order).toEqual(['b', 'c']);
    expect(lockHeld(path)).toBe(false);
  });

  it('takes over a lock whose holder was killed', async () => {
    const path = join(tmp(), 'g.lock');
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    await new Promise((r) => child.once('spawn', r));
    const start = processStartTime(child.pid!);
    writeFileSync(path, JSON.stringify({ pid: child.pid, start, what: 'vserver start g' }));
    expect(lockHeld(path)).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const l = await acquireLock(path, 'after crash', 2000);
    expect(readlinkSync(path)).toMatch(/^\d+:\d+:after crash$/);
    l.release();
    expect(readdirSync(join(path, '..'))).toEqual([]); // no temp files left
  });

  it("keeps the holder in the lock's inode: a symlink of under 60 bytes, also for a long command", async () => {
    const path = join(tmp(), 'g.lock');
    const l = await acquireLock(path, `vserver template create ${'x'.repeat(63)} --debootstrap bookworm`);
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
    expect(Buffer.byteLength(readlinkSync(path))).toBeLessThan(60);
    l.release();
  });

  it('sweeps locks of dead holders and leaves living ones', async () => {
    const dir = tmp();
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    await new Promise((r) => child.once('spawn', r));
    const start = processStartTime(child.pid!);
    symlinkSync(`${child.pid}:${start}:vserver stop a`, join(dir, 'a.lock'));
    writeFileSync(join(dir, 'b.lock'), JSON.stringify({ pid: child.pid, start, what: 'older version' }));
    writeFileSync(join(dir, `c.lock.${child.pid}-abc`), '');
    const live = await acquireLock(join(dir, 'd.lock'), 'vserver start d');
    expect(sweepDeadLocks(dir)).toEqual([]);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(sweepDeadLocks(dir).sort()).toEqual(['a.lock', 'b.lock', `c.lock.${child.pid}-abc`]);
    expect(readdirSync(dir)).toEqual(['d.lock']);
    live.release();
  });

  it('is taken by exactly one of many racing processes at a time', async () => {
    const path = join(tmp(), 'race.lock');
    const counter = join(tmp(), 'counter');
    writeFileSync(counter, '0');
    const lockModule = join(__dirname, '../../src/util/lock.ts');
    // each worker increments the counter non-atomically under the lock; lost updates would show
    const script = `
      const { acquireLock } = await import(${JSON.stringify(lockModule)});
      const fs = await import('node:fs');
      for (let i = 0; i < 20; i++) {
        const l = await acquireLock(${JSON.stringify(path)}, 'worker');
        const n = Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8'));
        await new Promise((r) => setTimeout(r, 1));
        fs.writeFileSync(${JSON.stringify(counter)}, String(n + 1));
        l.release();
      }`;
    const workers = Array.from(
      { length: 4 },
      () =>
        new Promise<number>((resolve) => {
          const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'inherit' });
          c.on('exit', (code) => resolve(code ?? 1));
        }),
    );
    expect(await Promise.all(workers)).toEqual([0, 0, 0, 0]);
    expect(readFileSync(counter, 'utf8')).toBe('80');
  }, 60_000);
});

describe('atomic writes', () => {
  it('replaces the file whole and leaves no temp file', () => {
    const d = tmp();
    const f = join(d, 'a.toml');
    writeFileAtomic(f, 'one');
    writeFileAtomic(f, 'two');
    expect(readFileSync(f, 'utf8')).toBe('two');
    expect(readdirSync(d)).toEqual(['a.toml']);
  });
});

describe('revert', () => {
  it('undoes registered steps in reverse order on failure and rethrows', async () => {
    const done: string[] = [];
    await expect(
      Revert.run(async (r) => {
        r.add('a', () => {
          done.push('a');
        });
        r.add('b', () => {
          done.push('b');
        });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(done).toEqual(['b', 'a']);
  });

  it('keeps going when an undo step fails, and says so', async () => {
    const done: string[] = [];
    await expect(
      Revert.run(async (r) => {
        r.add('a', () => {
          done.push('a');
        });
        r.add('b', () => {
          throw new Error('stuck');
        });
        throw new Error('boom');
      }),
    ).rejects.toThrow(/boom \(and cleaning up failed: b: stuck\)/);
    expect(done).toEqual(['a']);
  });

  it('forgets the steps on success', async () => {
    const done: string[] = [];
    await Revert.run(async (r) => {
      r.add('a', () => {
        done.push('a');
      });
    });
    expect(done).toEqual([]);
  });
});

describe('paths', () => {
  it('puts everything under the root prefix and keeps host-wide names apart per installation', () => {
    const p = new Paths('/srv/vs');
    expect(p.guestConfig('web1')).toBe('/srv/vs/etc/vserver/guests/web1.toml');
    expect(p.rootfs('web1')).toBe('/srv/vs/var/lib/vserver/guests/web1/rootfs');
    expect(p.log('web1')).toBe('/srv/vs/var/log/vserver/web1.log');
    expect(p.runtimeRoot('runc')).toBe('/srv/vs/run/vserver/runc');
    expect(p.cgroupName('web1')).toMatch(/^vserver-[0-9a-f]{6}-web1$/);
    expect(new Paths('/').cgroupName('web1')).toBe('vserver-web1');
    expect(new Paths('/srv/other').cgroupName('web1')).not.toBe(p.cgroupName('web1'));
  });
});

describe('formats', () => {
  it('prints durations like vserver-stat', () => {
    expect(formatDuration(5, 320)).toBe('0m05s32');
    expect(formatDuration(125)).toBe('2m05s00');
    expect(formatDuration(3 * 3600 + 7 * 60 + 9)).toBe('3h07m09');
    expect(formatDuration(2 * 86400 + 5 * 3600 + 4 * 60)).toBe('2d05h04');
  });

  it('aligns table columns', () => {
    expect(
      table(
        ['NAME', 'CTX'],
        [
          ['web1', 100],
          ['db', 2],
        ],
      ),
    ).toBe('NAME  CTX\nweb1  100\ndb      2\n');
  });
});

describe('/proc readers', () => {
  it('reads resource limits', () => {
    const text =
      'Limit                     Soft Limit           Hard Limit           Units     \n' +
      'Max open files            1024                 20000                files     \n' +
      'Max core file size        0                    unlimited            bytes     \n';
    const l = ownRlimits(text);
    expect(l.get('RLIMIT_NOFILE')).toEqual({ soft: 1024, hard: 20000 });
    expect(l.get('RLIMIT_CORE')).toEqual({ soft: 0, hard: Infinity });
    expect(ownRlimits().get('RLIMIT_NOFILE')?.hard).toBeGreaterThan(0);
  });

  it('knows a live process from a gone one', () => {
    expect(processStartTime(process.pid)).toMatch(/^\d+$/);
    expect(processStartTime(2 ** 22 + 1)).toBeUndefined();
  });
});

describe('static ELF detection', () => {
  it('tells a static binary from a dynamic one and from a non-ELF file', () => {
    expect(isStaticElf(process.execPath)).toBe(false); // node is dynamically linked
    const f = join(tmp(), 'x');
    writeFileSync(f, '#!/bin/sh\n');
    expect(isStaticElf(f)).toBe(false);
    expect(isStaticElf('/nonexistent')).toBe(false);
    expect(isStaticElf('/sbin/ldconfig')).toBe(true); // static-pie on Debian
  });
});
