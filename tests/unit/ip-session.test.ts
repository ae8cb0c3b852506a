// One ip process serves the starts of a bulk run in turn: a session given back is taken by the next
// start, one whose line failed never is, and an idle one ends by itself.
import { describe, expect, it } from 'vitest';
import { IpSession, readNamedLinks } from '../../src/network/ip-session.js';
import { which } from '../../src/util/which.js';

const exited = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

describe.skipIf(!which('ip'))('IpSession', () => {
  it('gives a session back for the next user, who gets the same ip process', async () => {
    const a = IpSession.take();
    await a.apply([{ cmd: 'link show dev lo', what: 'reading lo' }]);
    a.park();
    a.kill(); // what a start does when it is done: a parked session is not the start's to kill
    const b = IpSession.take();
    expect(b).toBe(a);
    expect(exited(b.pid!)).toBe(false);
    expect((await b.query<{ ifname: string }[]>('link show dev lo'))[0]!.ifname).toBe('lo');
    b.kill();
  });

  it('never gives out a session whose line failed, nor one that ended', async () => {
    const a = IpSession.take();
    await expect(a.apply([{ cmd: 'link show dev vst-no-such0', what: 'reading a missing link' }])).rejects.toThrow(
      /vst-no-such0|reading a missing link/,
    );
    a.park();
    const b = IpSession.take();
    expect(b).not.toBe(a);
    b.kill();
    b.park();
    const c = IpSession.take();
    expect(c).not.toBe(b);
    c.kill();
  });

  it('reads named links through an idle session, only those this namespace has', async () => {
    const a = IpSession.take();
    await a.query('link show dev lo');
    a.park();
    const links = await readNamedLinks(['lo', 'vst-no-such0', 'lo']);
    expect(links.map((l) => l.name)).toEqual(['lo']);
    // the same ip answered, and is idle again for the next
    const b = IpSession.take();
    expect(b).toBe(a);
    b.kill();
  });

  it('ends an idle session that nobody takes', async () => {
    const a = IpSession.take();
    await a.query('link show dev lo');
    a.park();
    const pid = a.pid!;
    const deadline = Date.now() + 10_000;
    while (!exited(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(exited(pid)).toBe(true);
    const b = IpSession.take();
    expect(b).not.toBe(a);
    b.kill();
  }, 15_000);
});
