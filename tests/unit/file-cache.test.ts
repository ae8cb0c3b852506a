// The caches of parsed files, in one process and kept between processes: what they hand out is
// always what the file says now, whoever changed it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeDeps } from '../../src/engine/deps.js';
import { otherGuests, recordChanged } from '../../src/engine/net-view.js';
import type { NetPlan } from '../../src/network/types.js';
import { recordedInterfaces } from '../../src/engine/network-info.js';
import { ipClaim } from '../../src/network/claims.js';
import { FileCache } from '../../src/util/file-cache.js';
import { parseCidr } from '../../src/util/ip.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vsfc-'));
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

/** A clock an hour ahead: every file counts as settled, as it would a while after it was written. */
const later = () => Date.now() + 3_600_000;
const isString = (v: unknown): v is string => typeof v === 'string';

/** Another process rewrites the file in place with text of the same size and puts its mtime back (whole seconds, which it keeps exactly). */
function rewriteElsewhere(file: string, text: string): void {
  const script =
    "const fs = require('fs'); const [f, t] = process.argv.slice(1); const st = fs.statSync(f);" +
    'fs.writeFileSync(f, t); fs.utimesSync(f, st.atime, st.mtime);';
  execFileSync(process.execPath, ['-e', script, file, text]);
}

describe('a cache kept between processes', () => {
  it("hands the next process what the last one derived, without parsing, until the file changes; another process's change is seen", () => {
    const file = join(dir, 'a.txt');
    const kept = { file: join(dir, 'cache', 'a.json'), valid: isString };
    writeFileSync(file, 'one');
    utimesSync(file, 1e9, 1e9);
    let parses = 0;
    const parse = (t: string) => {
      parses++;
      return t.toUpperCase();
    };
    const first = new FileCache(kept, later);
    expect(first.get(file, parse)).toBe('ONE');
    first.save();
    expect(JSON.parse(readFileSync(kept.file, 'utf8')).files[file].value).toBe('ONE');

    const second = new FileCache(kept, later);
    expect(second.get(file, parse)).toBe('ONE');
    expect(parses).toBe(1);

    const mtime = statSync(file).mtimeMs;
    rewriteElsewhere(file, 'two');
    expect(statSync(file).mtimeMs).toBe(mtime); // same size, same mtime: only the ctime tells
    expect(second.get(file, parse)).toBe('TWO');
    expect(new FileCache(kept, later).get(file, parse)).toBe('TWO');
    expect(parses).toBe(3);
  });

  it('does not trust a file written just now, which may change again within the same tick of the clock', () => {
    const file = join(dir, 'b.txt');
    const kept = { file: join(dir, 'b.json'), valid: isString };
    const cache = new FileCache(kept);
    for (const text of ['aaa', 'bbb', 'ccc']) {
      writeFileSync(file, text);
      expect(cache.get(file, (t) => t)).toBe(text);
    }
    cache.save();
    let parses = 0;
    expect(
      new FileCache(kept).get(file, (t) => {
        parses++;
        return t;
      }),
    ).toBe('ccc');
    expect(parses).toBe(1);
  });

  it('reads anew past a damaged cache file or a damaged entry', () => {
    const a = join(dir, 'a.txt');
    const b = join(dir, 'b.txt');
    writeFileSync(a, 'a');
    writeFileSync(b, 'b');
    const kept = { file: join(dir, 'c.json'), valid: isString };
    writeFileSync(kept.file, '{"version":1,"files":');
    expect(new FileCache(kept, later).get(a, (t) => `${t}!`)).toBe('a!');
    writeFileSync(kept.file, JSON.stringify({ version: 1, files: { [a]: { key: 'x', value: 42 } } }));
    const cache = new FileCache(kept, later);
    expect(cache.get(a, (t) => `${t}?`)).toBe('a?');
    expect(cache.get(b, (t) => `${t}?`)).toBe('b?');
  });

  it('only loses what it keeps when its file cannot be written', () => {
    const a = join(dir, 'a.txt');
    writeFileSync(a, 'a');
    // the cache's directory is a file: as refused as a full or read-only file system
    writeFileSync(join(dir, 'blocked'), '');
    const cache = new FileCache({ file: join(dir, 'blocked/c.json'), valid: isString }, later);
    expect(cache.get(a, (t) => `${t}!`)).toBe('a!');
    expect(() => cache.save()).not.toThrow();
    expect(cache.get(a, (t) => `${t}?`)).toBe('a!');
  });
});

describe('a directory of records, each only ever replaced whole or removed', () => {
  it('writes its file only when what it keeps changed', () => {
    const records = join(dir, 'net');
    const kept = { file: join(dir, 'net-cache.json'), valid: isString };
    const scanSave = () => {
      const c = new FileCache(kept, later);
      c.scan(
        records,
        (e) => e.endsWith('.json'),
        (_f, t) => t,
      );
      c.save();
    };
    // no directory yet: nothing to keep, nothing written
    scanSave();
    expect(() => statSync(kept.file)).toThrow();
    mkdirSync(records);
    writeFileSync(join(records, 'a.json'), '"a1"');
    scanSave();
    const written = statSync(kept.file);
    // unchanged: the next listings leave the file as it was
    scanSave();
    scanSave();
    expect(statSync(kept.file).mtimeMs).toBe(written.mtimeMs);
    expect(statSync(kept.file).ino).toBe(written.ino);
  });

  it('is read again once another process replaces, removes or adds a record, and vouches for them while unchanged', () => {
    const records = join(dir, 'net');
    mkdirSync(records);
    for (const n of ['a', 'b']) writeFileSync(join(records, `${n}.json`), `"${n}1"`);
    const kept = { file: join(dir, 'net-cache.json'), valid: isString };
    let parses = 0;
    const parse = (_file: string, text: string) => {
      parses++;
      return JSON.parse(text) as string;
    };
    const scan = (cache: FileCache<string>) => Object.fromEntries([...cache.scan(records, (e) => e.endsWith('.json'), parse)]);
    const first = new FileCache(kept, later);
    expect(scan(first)).toEqual({ [join(records, 'a.json')]: 'a1', [join(records, 'b.json')]: 'b1' });
    first.save();
    expect(scan(new FileCache(kept, later))).toEqual({ [join(records, 'a.json')]: 'a1', [join(records, 'b.json')]: 'b1' });
    expect(parses).toBe(2);

    // another process: a replaced by rename, b removed, c added, and a temporary file that is no record
    const script =
      "const fs = require('fs'); const d = process.argv[1];" +
      "fs.writeFileSync(d + '/.a.json.tmp', '\"a2\"'); fs.renameSync(d + '/.a.json.tmp', d + '/a.json');" +
      "fs.unlinkSync(d + '/b.json'); fs.writeFileSync(d + '/c.json', '\"c1\"'); fs.writeFileSync(d + '/.x.tmp', '');";
    execFileSync(process.execPath, ['-e', script, records]);
    const next = new FileCache(kept, later);
    expect(scan(next)).toEqual({ [join(records, 'a.json')]: 'a2', [join(records, 'c.json')]: 'c1' });
    expect(scan(first)).toEqual({ [join(records, 'a.json')]: 'a2', [join(records, 'c.json')]: 'c1' });
    next.save();
    // nothing read while the directory is unchanged: even a record changed in place, which they never are, stays as it was
    rewriteElsewhere(join(records, 'c.json'), '"c2"');
    parses = 0;
    expect(scan(new FileCache(kept, later))[join(records, 'c.json')]).toBe('c1');
    expect(parses).toBe(0);
  });
});

const ip = (a: string) => [[ipClaim(parseCidr(a)!)]];

/** A recorded start with one bridged interface and its address. */
const plan = (name: string, address: string) => ({
  guest: name,
  context: 101,
  netns: `/run/netns/${name}`,
  interfaces: [
    {
      index: 0,
      name: 'eth0',
      mode: 'bridge',
      hostDevice: 'vx-101-0',
      bridge: 'vsbr0',
      addresses: [address],
      gateways: [],
      nat: false,
      ports: [],
    },
  ],
  bridges: [],
  forwarding: { v4: false, v6: false },
});

describe('what other guests hold', () => {
  it("follows a guest's config edited by another process, in the same process and in the next", async () => {
    // an hour on: the files count as settled, so that the kept entries are used, not read past
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_600_000 });
    const root = join(dir, 'root');
    const guests = join(root, 'etc/vserver/guests');
    mkdirSync(guests, { recursive: true });
    const cfg = (address: string) => `context = 101\n\n[[interfaces]]\nmode = "bridge"\naddress = "${address}"\n`;
    writeFileSync(join(guests, 'a.toml'), cfg('10.47.0.10'));
    utimesSync(join(guests, 'a.toml'), 1e9, 1e9);
    writeFileSync(join(guests, 'b.toml'), 'context = 102\n');
    mkdirSync(join(root, 'run/vserver'), { recursive: true });
    const deps = makeDeps(root);
    const holds = async () => (await otherGuests(deps, 'b', false)).map((o) => [o.name, o.config]);
    expect(await holds()).toEqual([['a', ip('10.47.0.10')]]);
    // kept between runs by the guest index
    const kept = JSON.parse(readFileSync(deps.paths.guestIndex, 'utf8')).guests;
    expect(kept.a.summary.interfaces).toEqual([expect.objectContaining({ address: '10.47.0.10' })]);
    rewriteElsewhere(join(guests, 'a.toml'), cfg('10.47.0.20'));
    expect(await holds()).toEqual([['a', ip('10.47.0.20')]]);
    // a process of its own, with the same clock, on the entries this one kept
    rewriteElsewhere(join(guests, 'a.toml'), cfg('10.47.0.30'));
    const script =
      'const now = Date.now; Date.now = () => now() + 3600000;' +
      "import('./src/engine/net-view.ts').then(async (v) => { const d = await import('./src/engine/deps.ts');" +
      'console.log(JSON.stringify((await v.otherGuests(d.makeDeps(process.argv[1]), "b", false)).map((o) => o.config))); });';
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script, root], { cwd: join(__dirname, '../..') });
    expect(JSON.parse(out.toString())).toEqual([ip('10.47.0.30')]);
  });
});

describe("a start's view of the recorded starts", () => {
  it("is this process's own while no other process has changed a record, and read again once one has", async () => {
    const root = join(dir, 'root');
    mkdirSync(join(root, 'etc/vserver/guests'), { recursive: true });
    writeFileSync(join(root, 'etc/vserver/guests/b.toml'), 'context = 102\n');
    const mine = makeDeps(root);
    const other = makeDeps(root); // another process: a view of its own
    mkdirSync(mine.paths.netStateDir, { recursive: true });
    // as a start writes a record, under the network lock
    const start = (deps: ReturnType<typeof makeDeps>, name: string, address: string) => {
      writeFileSync(deps.paths.netState(name), JSON.stringify(plan(name, address)));
      recordChanged(deps, name, plan(name, address) as NetPlan);
    };
    const seen = async () => (await otherGuests(mine, 'b', false)).map((o) => [o.name, o.state]);
    start(mine, 'a', '10.47.0.10/16');
    expect(await seen()).toEqual([['a', ip('10.47.0.10')]]);
    start(mine, 'c', '10.47.0.12/16');
    expect(await seen()).toEqual([
      ['a', ip('10.47.0.10')],
      ['c', ip('10.47.0.12')],
    ]);
    // the control: a record changed with no new generation is not looked at, so the view is this process's own
    writeFileSync(mine.paths.netState('a'), JSON.stringify(plan('a', '10.47.0.99/16')));
    expect(await seen()).toEqual([
      ['a', ip('10.47.0.10')],
      ['c', ip('10.47.0.12')],
    ]);
    // another process's change comes with a new generation: everything is read again
    start(other, 'd', '10.47.0.13/16');
    expect(await seen()).toEqual([
      ['a', ip('10.47.0.99')],
      ['c', ip('10.47.0.12')],
      ['d', ip('10.47.0.13')],
    ]);
    rmSync(other.paths.netState('c'));
    recordChanged(other, 'c', undefined);
    expect(await seen()).toEqual([
      ['a', ip('10.47.0.99')],
      ['d', ip('10.47.0.13')],
    ]);
  });
});

describe("a start's view of the configs' claims", () => {
  it('is reused by the starts of one process for a second, never by a config check', async () => {
    const root = join(dir, 'root');
    const guests = join(root, 'etc/vserver/guests');
    mkdirSync(guests, { recursive: true });
    const cfg = (address: string) => `context = 101\n\n[[interfaces]]\nmode = "bridge"\naddress = "${address}"\n`;
    writeFileSync(join(guests, 'a.toml'), cfg('10.47.0.10'));
    writeFileSync(join(guests, 'b.toml'), 'context = 102\n');
    const deps = makeDeps(root);
    const seen = async (starting: boolean) => (await otherGuests(deps, 'b', false, starting)).map((o) => o.config);
    expect(await seen(true)).toEqual([ip('10.47.0.10')]);
    rewriteElsewhere(join(guests, 'a.toml'), cfg('10.47.0.20'));
    const t0 = performance.now();
    const reused = await seen(true);
    if (performance.now() - t0 < 900) expect(reused).toEqual([ip('10.47.0.10')]);
    // the control: a config check (and a start's second plan) reads them afresh
    expect(await seen(false)).toEqual([ip('10.47.0.20')]);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await seen(true)).toEqual([ip('10.47.0.20')]);
  });
});

describe("what a listing shows of the guests' recorded starts", () => {
  it('is kept between processes, follows a record replaced or removed, and reads past a damaged cache', () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_600_000 });
    const root = join(dir, 'root');
    const deps = makeDeps(root);
    mkdirSync(deps.paths.netStateDir, { recursive: true });
    // records are replaced whole, as a start writes them
    const record = (name: string, address: string) => {
      const tmp = join(deps.paths.netStateDir, `.${name}.tmp`);
      writeFileSync(tmp, JSON.stringify(plan(name, address)));
      renameSync(tmp, deps.paths.netState(name));
    };
    const shown = () => Object.fromEntries([...recordedInterfaces(deps)].map(([n, l]) => [n, l.map((i) => i.addresses[0])]));
    record('a', '10.47.0.10/16');
    record('b', '10.47.0.11/16');
    expect(shown()).toEqual({ a: ['10.47.0.10/16'], b: ['10.47.0.11/16'] });
    const kept = JSON.parse(readFileSync(deps.paths.netShown, 'utf8'));
    expect(Object.keys(kept.files).sort()).toEqual([deps.paths.netState('a'), deps.paths.netState('b')]);
    // another start replaces a's record, another stop removes b's: the directory moved, so both are seen
    record('a', '10.47.0.20/16');
    rmSync(deps.paths.netState('b'));
    expect(shown()).toEqual({ a: ['10.47.0.20/16'] });
    // the next process, on what this one kept
    record('a', '10.47.0.30/16');
    const script =
      'const now = Date.now; Date.now = () => now() + 3600000;' +
      "import('./src/engine/network-info.ts').then(async (n) => { const d = await import('./src/engine/deps.ts');" +
      'console.log(JSON.stringify([...n.recordedInterfaces(d.makeDeps(process.argv[1]))].map(([k, l]) => [k, l[0].addresses[0]]))); });';
    const next = () =>
      JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script, root], { cwd: join(__dirname, '../..') }).toString());
    expect(next()).toEqual([['a', '10.47.0.30/16']]);
    // a damaged entry is not used: the record is read again
    const damaged = JSON.parse(readFileSync(deps.paths.netShown, 'utf8'));
    damaged.files[deps.paths.netState('a')].value = [{ mode: 'bridge', addresses: 'not a list' }];
    writeFileSync(deps.paths.netShown, JSON.stringify(damaged));
    expect(next()).toEqual([['a', '10.47.0.30/16']]);
  });
});
