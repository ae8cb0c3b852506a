// Context numbers under parallel builds, also when builds are killed: every guest gets its own
// number and so its own host id range.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

interface Listed {
  name: string;
  context: number;
}

async function listed(t: TestRoot): Promise<Listed[]> {
  return JSON.parse(await t.ok(['list', '--json'])) as Listed[];
}

/** Each guest's context is its own, and its tree is owned by that context's range. */
function expectDistinct(t: TestRoot, guests: Listed[]): void {
  const contexts = guests.map((g) => g.context);
  expect(new Set(contexts).size, `contexts ${contexts.join(' ')}`).toBe(guests.length);
  for (const g of guests) expect(statSync(t.paths.rootfs(g.name)).uid, g.name).toBe(g.context * 65536);
}

describe.skipIf(!IS_ROOT)('contexts under parallel builds', () => {
  let t: TestRoot;
  afterEach(async () => t.cleanup());

  it('50 parallel builds give 50 distinct contexts', async () => {
    t = new TestRoot('ctx50');
    const names = Array.from({ length: 50 }, (_, i) => `p${i}`);
    const t0 = Date.now();
    const results = await Promise.all(names.map((n) => t.cli(['build', n])));
    const ms = Date.now() - t0;
    console.log(`50 parallel builds: ${(ms / 1000).toFixed(1)} s`);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const guests = await listed(t);
    expect(guests.map((g) => g.name).sort()).toEqual([...names].sort());
    expectDistinct(t, guests);
  });

  it('builds killed with SIGKILL at any point leave no guest sharing a context', async () => {
    t = new TestRoot('ctxkill');
    const names = Array.from({ length: 30 }, (_, i) => `k${i}`);
    const runs = names.map((n, i) => {
      const child = t.spawnCli(['build', n]);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      // every third build is killed, at points spread over its run
      if (i % 3 === 0) setTimeout(() => child.kill('SIGKILL'), 20 + i * 400);
      return exited;
    });
    await Promise.all(runs);
    // what a killed build left never shows as a guest, and never holds a number a new build needs
    expectDistinct(t, await listed(t));
    const again = await Promise.all(names.map((n) => t.cli(['build', n])));
    for (const r of again) expect([0, 12], r.stderr).toContain(r.code);
    const guests = await listed(t);
    expect(guests.map((g) => g.name).sort()).toEqual([...names].sort());
    expectDistinct(t, guests);
    // the builds of the killed names cleared what those left
    expect(readdirSync(t.paths.guestsDir).sort()).toEqual([...names].sort());
  });
});

describe.skipIf(!IS_ROOT)('two installations on one host', () => {
  const roots: TestRoot[] = [];
  afterEach(async () => {
    for (const r of roots.splice(0)) await r.cleanup();
  });

  it("never share an id range, also when one asks for the other's context", async () => {
    const a = new TestRoot('insta');
    const b = new TestRoot('instb');
    roots.push(a, b);
    // one registry for both, as the host's default is for every installation on a host
    const env = { VSERVER_ID_REGISTRY: join(a.root, 'shared-ranges') };
    const [ra, rb] = await Promise.all([a.cli(['build', 'web'], { env }), b.cli(['build', 'web'], { env })]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const ca = (await listed(a))[0]!;
    const cb = (await listed(b))[0]!;
    expect(ca.context).not.toBe(cb.context);
    expect(statSync(a.paths.rootfs('web')).uid).not.toBe(statSync(b.paths.rootfs('web')).uid);
    const r = await b.cli(['build', 'x', '--context', String(ca.context)], { env });
    expect(r.code).toBe(12);
    expect(r.stderr).toContain(`are taken by the installation at ${a.root}`);
    // the control: an installation that claims elsewhere would take it
    expect((await b.cli(['build', 'y', '--context', String(ca.context)])).code).toBe(0);
    await b.ok(['delete', 'y']);
    expect((await a.cli(['delete', 'web'], { env })).code).toBe(0);
    expect((await b.cli(['build', 'x', '--context', String(ca.context)], { env })).code).toBe(0);
  });
});
