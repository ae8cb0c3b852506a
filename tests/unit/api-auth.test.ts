// The TLS listener and who may use it, operations, POST /1.0/guests's refusals and the OpenAPI
// document: in process, on loopback only, without root.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:https';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/daemon/server.js';
import { Operations } from '../../src/daemon/operations.js';
import { listenTls, serverCert, type ServerCert } from '../../src/daemon/tls.js';
import { createToken, readTokens, revokeToken, tokensFile } from '../../src/engine/api-tokens.js';
import { Engine } from '../../src/engine/index.js';
import { ApiClient } from '../../src/remote/client.js';
import { clientCert, type ClientCert } from '../helpers/daemon.js';
import { fakeHostFacts, FakeCgroups, FakeLxcfs, FakeRuntime } from '../helpers/fake-runtime.js';

let root: string;
let engine: Engine;
let app: ReturnType<typeof buildServer>;

function makeEngine(hostToml = ''): void {
  mkdirSync(join(root, 'etc/vserver'), { recursive: true });
  writeFileSync(join(root, 'etc/vserver/vserver.toml'), hostToml);
  engine = new Engine(root, { runtime: new FakeRuntime(), cgroups: new FakeCgroups(), hostFacts: fakeHostFacts, lxcfs: new FakeLxcfs() });
  app = buildServer(engine);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vsapi-'));
  chmodSync(root, 0o755);
});
afterEach(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('the HTTPS listener', () => {
  let tls: Server;
  let cert: ServerCert;
  let port: number;
  let trusted: ClientCert;
  let stranger: ClientCert;

  beforeEach(async () => {
    trusted = clientCert(root, 'trusted');
    stranger = clientCert(root, 'stranger');
    makeEngine(`[api]\nlisten = "127.0.0.1:0"\ntrusted_certs = ["${trusted.fingerprint}"]\n`);
    await app.ready();
    cert = await serverCert(engine.deps.paths, '127.0.0.1');
    tls = await listenTls(app, '127.0.0.1:0', cert);
    port = (tls.address() as AddressInfo).port;
  });
  afterEach(() => {
    tls.close();
    tls.closeAllConnections();
  });

  const get = (path: string, opts: { token?: string; client?: { cert: Buffer; key: Buffer }; maxVersion?: 'TLSv1.2' } = {}) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path,
          ca: cert.cert,
          servername: 'localhost',
          ...(opts.client ?? {}),
          maxVersion: opts.maxVersion,
          headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
        },
        (res) => {
          let t = '';
          res.on('data', (d) => (t += d));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(t) }));
        },
      );
      req.on('error', reject);
      req.end();
    });

  it('made its key readable by root only, and a certificate for loopback', () => {
    expect(statSync(join(root, 'var/lib/vserver/api/server.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, 'var/lib/vserver/api')).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, 'var/lib/vserver')).mode & 0o777).toBe(0o755);
    expect(cert.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('answers 401 without credentials, and with a wrong or revoked token; a live token gets in', async () => {
    const none = await get('/1.0/guests');
    expect(none).toEqual({
      status: 401,
      body: { code: 'UNAUTHORIZED', error: expect.stringMatching(/no credentials/), hint: expect.stringMatching(/vserver token create/) },
    });
    expect((await get('/1.0/guests', { token: 'vst_wrong' })).status).toBe(401);
    const { token, record } = await createToken(engine.deps.paths, 'ci');
    expect(await get('/1.0/guests', { token })).toEqual({ status: 200, body: [] });
    // every route sits behind it, metrics and the document included
    expect((await get('/1.0/openapi.json')).status).toBe(401);
    await revokeToken(engine.deps.paths, record.id);
    expect((await get('/1.0/guests', { token })).status).toBe(401);
  });

  it('guards the migration route: credentials first, then only what migrate runs', async () => {
    const cmd = (argv: string[]) => `/1.0/migrate?command=${encodeURIComponent(JSON.stringify(argv))}`;
    const etc = cmd(['rsync', '--server', '-lHogDtpAXrSe.iLsfxCIvu', '--timeout=10', '.', '/etc/']);
    expect((await get(etc)).status).toBe(401);
    const { token } = await createToken(engine.deps.paths, 'mig');
    expect(await get(etc, { token })).toEqual({
      status: 403,
      body: expect.objectContaining({ code: 'NOT_PERMITTED', error: expect.stringMatching(/does not run rsync into \/etc\//) }),
    });
    expect((await get(cmd(['sh', '-c', 'id']), { token })).status).toBe(403);
    // the control: a command it does run passes the check, and is then told to upgrade
    expect(await get(cmd(['receive', 'web']), { token })).toEqual({
      status: 400,
      body: expect.objectContaining({ code: 'USAGE', error: expect.stringMatching(/used with a WebSocket/) }),
    });
  });

  it('lets in a client certificate listed in trusted_certs, and no other', async () => {
    expect(await get('/1.0/guests', { client: trusted })).toEqual({ status: 200, body: [] });
    expect((await get('/1.0/guests', { client: stranger })).status).toBe(401);
  });

  it('speaks TLS 1.3 only', async () => {
    await expect(get('/1.0/guests', { maxVersion: 'TLSv1.2' })).rejects.toThrow(/version|protocol|alert/i);
  });

  it('is reached by the remote client with the certificate pinned, and refused under another pin', async () => {
    const { token } = await createToken(engine.deps.paths);
    const ok = new ApiClient({ url: `https://127.0.0.1:${port}`, token, cert_fingerprint: cert.fingerprint });
    expect(await ok.call('GET', '/1.0/guests')).toEqual([]);
    const wrongPin = new ApiClient({ url: `https://127.0.0.1:${port}`, token, cert_fingerprint: trusted.fingerprint });
    await expect(wrongPin.call('GET', '/1.0/guests')).rejects.toMatchObject({
      code: 'NOT_PERMITTED',
      message: expect.stringMatching(/not the pinned/),
    });
    // without a pin, the self-signed certificate is not trusted
    await expect(new ApiClient({ url: `https://127.0.0.1:${port}`, token }).call('GET', '/1.0/guests')).rejects.toMatchObject({
      hint: expect.stringMatching(/--cert-fingerprint/),
    });
    const noToken = new ApiClient({ url: `https://127.0.0.1:${port}`, cert_fingerprint: cert.fingerprint });
    await expect(noToken.call('GET', '/1.0/guests')).rejects.toMatchObject({ code: 'UNAUTHORIZED', exitCode: 32 });
  });

  it('keeps the Unix socket trusted (the same request in process needs no credentials)', async () => {
    expect((await app.inject('/1.0/guests')).statusCode).toBe(200);
  });
});

describe('the token store', () => {
  beforeEach(() => makeEngine());

  it('keeps hashes only, in a file only root reads, and shows each token once', async () => {
    const a = await createToken(engine.deps.paths, 'ci');
    const b = await createToken(engine.deps.paths);
    const text = readFileSync(tokensFile(engine.deps.paths), 'utf8');
    expect(text).not.toContain(a.token);
    expect(text).not.toContain(b.token);
    expect(statSync(tokensFile(engine.deps.paths)).mode & 0o777).toBe(0o600);
    expect(readTokens(engine.deps.paths).map((t) => t.name)).toEqual(['ci', b.record.name]);
    await expect(createToken(engine.deps.paths, 'ci')).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(createToken(engine.deps.paths, 'no spaces')).rejects.toMatchObject({ code: 'INVALID_VALUE' });
    await expect(revokeToken(engine.deps.paths, 'nosuch')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('operations', () => {
  it('report progress, wait with a timeout, cancel the work, and keep a bounded history', async () => {
    const ops = new Operations(2);
    let stopped = false;
    const slow = ops.start(
      'build',
      ({ signal, progress }) =>
        new Promise((_resolve, reject) => {
          progress({ step: 'unpacking', done: 1, total: 3 });
          signal.addEventListener('abort', () => {
            stopped = true;
            reject(new Error('aborted'));
          });
        }),
    );
    const t0 = Date.now();
    expect(await ops.wait(slow.id, 100)).toMatchObject({ status: 'running', progress: { step: 'unpacking', done: 1, total: 3 } });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(await ops.cancel(slow.id)).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
    expect(stopped).toBe(true);
    await expect(ops.cancel(slow.id)).rejects.toMatchObject({ code: 'NOT_RUNNING' });
    const ok = ops.start('build', async () => 42);
    expect(await ops.wait(ok.id, 5000)).toMatchObject({ status: 'success', result: 42 });
    const bad = ops.start('build', async () => {
      throw new Error('boom');
    });
    expect(await ops.wait(bad.id, 5000)).toMatchObject({ status: 'failure', error: { code: 'INTERNAL', error: 'boom' } });
    // only the two newest finished ones are kept
    expect(() => ops.get(slow.id)).toThrow(/no operation/);
    expect(ops.list().map((o) => o.id)).toEqual([ok.id, bad.id]);
  });
});

describe('POST /1.0/guests and /1.0/operations', () => {
  beforeEach(() => makeEngine());
  const post = (payload: unknown, url = '/1.0/guests') => app.inject({ method: 'POST', url, payload: payload as object });

  it("refuses what vserver build refuses, with the CLI's message, and makes nothing", async () => {
    const bad = await post({ name: 'Web_1' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'INVALID_NAME', error: "invalid guest name 'Web_1': it contains upper-case letters" });
    expect((await post({ name: 'a', source: { kind: 'ftp' } })).json()).toMatchObject({ code: 'USAGE' });
    expect((await post({ name: 'a', colour: 'red' })).json()).toMatchObject({
      code: 'USAGE',
      error: expect.stringMatching(/additional properties/),
    });
    expect((await post({ name: 'a', context: '100' })).statusCode).toBe(400);
    expect((await post({ name: 'a', init: 'cmd' })).json()).toMatchObject({ code: 'USAGE', error: expect.stringMatching(/needs cmd/) });
    expect((await post({ name: 'a' }, '/1.0/guests?name=a')).json()).toMatchObject({
      code: 'USAGE',
      error: expect.stringMatching(/query string/),
    });
    const upload = await app.inject({
      method: 'POST',
      url: '/1.0/guests',
      headers: { 'content-type': 'application/x-tar' },
      payload: Buffer.alloc(1024),
    });
    expect(upload.json()).toMatchObject({ code: 'USAGE' });
    mkdirSync(join(root, 'etc/vserver/guests'), { recursive: true });
    writeFileSync(join(root, 'etc/vserver/guests/taken.toml'), 'context = 100\n');
    expect((await post({ name: 'taken' })).json()).toMatchObject({ code: 'ALREADY_EXISTS', error: "guest 'taken' already exists" });
    expect((await post({ name: 'taken' })).statusCode).toBe(409);
    expect(() => statSync(join(root, 'var/lib/vserver/guests/a'))).toThrow();
  });

  it('runs a build as an operation whose failure is read back with its code', async () => {
    const r = await post({ name: 'c1', source: { kind: 'clone', guest: 'nosuch' } });
    expect(r.statusCode).toBe(202);
    const { id, operation } = r.json();
    expect(operation).toBe(`/1.0/operations/${id}`);
    expect(r.headers.location).toBe(operation);
    const done = (await app.inject(`${operation}/wait?timeout=10`)).json();
    expect(done).toMatchObject({ id, status: 'failure', error: { code: 'NOT_FOUND', error: expect.stringMatching(/nosuch/) } });
    expect((await app.inject(operation)).json()).toEqual(done);
    expect((await app.inject('/1.0/operations')).json()).toEqual([done]);
    expect((await app.inject({ method: 'DELETE', url: operation })).json()).toMatchObject({ code: 'NOT_RUNNING' });
    expect((await app.inject('/1.0/operations/nosuch')).statusCode).toBe(404);
    expect((await app.inject(`${operation}/wait?timeout=forever`)).statusCode).toBe(400);
  });
});

describe('/1.0/openapi.json', () => {
  beforeEach(() => makeEngine());

  it('describes every route the daemon serves, with the config schemas', async () => {
    const doc = (await app.inject('/1.0/openapi.json')).json();
    expect(doc.openapi).toBe('3.0.3');
    // fastify's own listing of its routes (a tree, four columns a level): each method of each path must be in the document
    const stack: string[] = [];
    const routes = app
      .printRoutes({ commonPrefix: false })
      .split('\n')
      .flatMap((line) => {
        const m = /^([│ ]*)[├└]── (\S+) \(([A-Z, ]+)\)/.exec(line);
        if (!m) return [];
        stack.length = m[1]!.length / 4;
        stack.push(m[2]!);
        const path = stack.join('').replace(/:([A-Za-z_]+)/g, '{$1}');
        return m[3]!
          .split(', ')
          .filter((x) => x !== 'HEAD')
          .map((x) => [path, x.toLowerCase()] as const);
      })
      .filter(([path]) => path.startsWith('/1.0') || path === '/metrics'); // the dashboard's pages are not API
    expect(routes.length).toBeGreaterThan(15);
    for (const [path, method] of routes) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    expect(doc.paths['/1.0/guests'].post.requestBody.content['application/json'].schema.required).toEqual(['name']);
    expect(doc.paths['/1.0/guests'].post.requestBody.content['application/x-tar']).toBeDefined();
    expect(doc.paths['/1.0/guests/{name}/state'].put.parameters).toEqual([
      expect.objectContaining({ name: 'name', in: 'path', required: true }),
    ]);
    expect(doc.components.schemas.GuestConfig.properties.context).toMatchObject({ type: 'integer', minimum: 2, maximum: 49151 });
    expect(doc.components.schemas.HostConfig.properties.api.properties.listen).toBeDefined();
    expect(doc.components.schemas.Error.properties.code.enum).toContain('UNAUTHORIZED');
  });
});
