// 10,000 malformed requests with a fixed seed against the API in process: each gets a 4xx (or a
// harmless 2xx), never a crash or a 5xx, and nothing under the root is written.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, lstatSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/daemon/server.js';
import { Engine } from '../../src/engine/index.js';
import { fakeHostFacts, FakeCgroups, FakeLxcfs, FakeRuntime } from '../helpers/fake-runtime.js';

const RUNS = Number(process.env.API_FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);

let root: string;
let app: ReturnType<typeof buildServer>;

/** Every path under the root with its type, size and mtime: any write shows. */
function tree(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    // the guest index is a cache of the configs that any listing may write
    if (p.endsWith('/run/vserver/guests.json')) continue;
    const st = lstatSync(p);
    // a lock taken and released under run/ leaves its directory's mtime changed, and nothing else
    out.push(`${p} ${st.mode} ${st.isDirectory() ? '' : st.size} ${st.isDirectory() && p.includes('/run/') ? '' : st.mtimeMs}`);
    if (st.isDirectory()) tree(p, out);
  }
  return out;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'vsfuzz-'));
  chmodSync(root, 0o755);
  mkdirSync(join(root, 'etc/vserver/guests'), { recursive: true });
  writeFileSync(join(root, 'etc/vserver/guests/web1.toml'), 'context = 100\ninit = "cmd"\ncmd = ["/bin/sh"]\n');
  mkdirSync(join(root, 'var/lib/vserver/guests/web1/rootfs'), { recursive: true });
  const engine = new Engine(root, {
    runtime: new FakeRuntime(),
    cgroups: new FakeCgroups(),
    hostFacts: fakeHostFacts,
    lxcfs: new FakeLxcfs(),
  });
  app = buildServer(engine, { bodyLimit: 4096, uploadLimit: 4096 });
  await app.inject('/1.0/guests');
  mkdirSync(join(root, 'run/vserver/locks'), { recursive: true });
});
afterAll(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

const ROUTES = [
  '/1.0',
  '/1.0/host',
  '/1.0/guests',
  '/1.0/guests/web1',
  '/1.0/guests/web1/state',
  '/1.0/guests/state',
  '/1.0/guests/web1/limits',
  '/1.0/stat',
  '/1.0/templates',
  '/1.0/operations',
  '/1.0/operations/x',
  '/1.0/operations/x/wait',
  '/1.0/openapi.json',
  '/metrics',
];
const junk = fc.string({ unit: 'binary', maxLength: 40 });
const segment = fc.oneof(
  junk.map(encodeURIComponent),
  fc.constantFrom('..', '%2e%2e', '%00', 'web1', 'WEB1', '-x', 'a'.repeat(300), '%2Fetc%2Fpasswd', '.', ''),
);
const path = fc.oneof(
  fc.constantFrom(...ROUTES),
  fc.tuple(fc.constantFrom(...ROUTES), segment).map(([r, s]) => `${r}/${s}`),
  fc
    .tuple(
      fc.constantFrom('/1.0/guests/', '/1.0/operations/', '/1.0/guests/web1/'),
      segment,
      fc.constantFrom('', '/state', '/limits', '/wait'),
    )
    .map(([a, b, c]) => `${a}${b}${c}`),
);
const json = fc.jsonValue({ maxDepth: 3 });
/** A body that is wrong for the route: random JSON, a state body with bad fields, bytes that are not JSON. */
const body = fc.oneof(
  json.map((j) => JSON.stringify(j)),
  fc
    .record(
      {
        action: fc.oneof(fc.constantFrom('start', 'stop', 'restart', 'freeze', ''), json),
        timeout: fc.oneof(json, fc.integer()),
        extra: json,
      },
      { requiredKeys: ['extra'] },
    )
    .map((o) => JSON.stringify(o)),
  fc
    .record(
      { name: fc.oneof(junk, fc.constantFrom('UPPER', '-dash', 'a'.repeat(64), '../etc', '')), source: json },
      { requiredKeys: ['name'] },
    )
    .map((o) => JSON.stringify(o)),
  fc
    .record({
      name: fc.constantFrom('ok1'),
      source: fc.record({ kind: fc.oneof(junk, fc.constantFrom('template', 'clone', 'debootstrap')), x: json }),
    })
    .map((o) => JSON.stringify(o)),
  fc
    .record({ 'memory.max': fc.oneof(junk, fc.constantFrom('-1', '1Q', 'max max')), 'no.such': json }, { requiredKeys: ['no.such'] })
    .map((o) => JSON.stringify(o)),
  junk,
  fc.uint8Array({ maxLength: 6000 }).map((a) => Buffer.from(a).toString('latin1')),
);
const query = fc.oneof(
  fc.constant(''),
  fc
    .dictionary(fc.oneof(junk, fc.constantFrom('state', 'mark', 'force', 'timeout', 'options')), junk, { maxKeys: 3 })
    .map((d) => `?${new URLSearchParams(d).toString()}`),
  junk.map((s) => `?${s}`),
);
const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
  url: fc.tuple(path, query).map(([p, q]) => `${p}${q}`),
  type: fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/x-tar',
    'application/toml',
    'multipart/form-data',
    undefined,
  ),
  body: fc.option(body, { nil: undefined }),
});

describe('the API under malformed requests', () => {
  it(`answers ${RUNS} of them without a crash or a 5xx, and writes nothing`, async () => {
    const before = tree(root);
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        // a tarball upload that names a guest would be a well-formed build: not what this test sends
        fc.pre(!(r.type === 'application/x-tar' && /[?&]name=/.test(r.url)));
        // nor is deleting the one guest there
        fc.pre(!(r.method === 'DELETE' && /^\/1\.0\/guests\/web1(\?|$)/.test(r.url)));
        const res = await app.inject({
          method: r.method as 'GET',
          url: r.url,
          payload: r.method === 'GET' || r.method === 'DELETE' || r.method === 'OPTIONS' ? undefined : r.body,
          headers: r.type === undefined ? {} : { 'content-type': r.type },
        });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        if (res.statusCode >= 500) throw new Error(`${r.method} ${r.url} (${r.type}) gave ${res.statusCode}: ${res.body.slice(0, 300)}`);
        if (res.statusCode >= 400) {
          const b = res.json() as { error?: string; code?: string };
          if (!b.error || !b.code) throw new Error(`${r.method} ${r.url}: an error without {error, code}: ${res.body.slice(0, 200)}`);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // builds the schema let through run as operations: wait for them before comparing
    for (const op of (await app.inject('/1.0/operations')).json() as { id: string }[])
      await app.inject(`/1.0/operations/${op.id}/wait?timeout=30`);
    expect(tree(root)).toEqual(before);
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
  }, 600_000);
});
