// The dashboard's config errors, build form, status rows, exec frames and event stream parsing.
import { describe, expect, it } from 'vitest';
import { annotate, errorLine } from '../../src/dashboard/config-errors.js';
import { buildBody, progressText, type BuildForm } from '../../src/dashboard/build-form.js';
import { guestRows } from '../../src/dashboard/status-view.js';
import { decodeFrame, parseControl, reconnectDelay, resizeMessage, shouldReconnect, stdinFrame } from '../../src/dashboard/exec-frames.js';
import { SseParser } from '../../src/dashboard/sse.js';
import { ApiError, errorText, fromStatus } from '../../src/dashboard/api-errors.js';

const TOML = 'context = 100\ninit = "plain"\n\n[limits]\nmemory.max = "64X"\n\n[limits.cpu]\nmax = 9\n';

describe('config errors', () => {
  it('belong to the line the API names, else to the line that sets the key', () => {
    expect(errorLine(TOML, { line: 2 })).toBe(2);
    expect(errorLine(TOML, { line: 99, key: 'init' })).toBe(2);
    expect(errorLine(TOML, { key: 'limits.memory.max' })).toBe(5);
    expect(errorLine(TOML, { key: 'limits.cpu.max' })).toBe(8);
    expect(errorLine(TOML, { key: 'context' })).toBe(1);
    expect(errorLine(TOML, { key: 'hostname' })).toBeUndefined();
    expect(errorLine(TOML, {})).toBeUndefined();
  });

  it('are shown next to their line only', () => {
    const lines = annotate(TOML, 5, 'bad size');
    expect(lines[4]).toEqual({ n: 5, text: 'memory.max = "64X"', error: 'bad size' });
    expect(lines.filter((l) => l.error)).toHaveLength(1);
  });
});

describe('the build form', () => {
  const form = (f: Partial<BuildForm>): BuildForm => ({
    name: 'web1',
    source: 'busybox',
    template: '',
    suite: 'bookworm',
    mirror: '',
    clone: '',
    backend: '',
    init: '',
    hostname: '',
    ...f,
  });

  it('makes the request body of each source', () => {
    expect(buildBody(form({}))).toEqual({ body: { name: 'web1' } });
    expect(buildBody(form({ source: 'template', template: 'deb12', backend: 'dir' }))).toEqual({
      body: { name: 'web1', source: { kind: 'template', name: 'deb12' }, backend: 'dir' },
    });
    expect(buildBody(form({ source: 'debootstrap', suite: ' trixie ', mirror: 'http://m/debian', init: 'sysv' }))).toEqual({
      body: { name: 'web1', source: { kind: 'debootstrap', suite: 'trixie', mirror: 'http://m/debian' }, init: 'sysv' },
    });
    expect(buildBody(form({ source: 'clone', clone: 'web0', hostname: 'h.example' }))).toEqual({
      body: { name: 'web1', source: { kind: 'clone', guest: 'web0' }, hostname: 'h.example' },
    });
  });

  it('names the field that is wrong, as the CLI would refuse it', () => {
    expect(buildBody(form({ name: 'Web_1' }))).toMatchObject({ field: 'name' });
    expect(buildBody(form({ name: 'a'.repeat(64) }))).toMatchObject({ field: 'name' });
    expect(buildBody(form({ source: 'template' }))).toMatchObject({ field: 'template' });
    expect(buildBody(form({ source: 'debootstrap', mirror: 'ftp://x' }))).toMatchObject({ field: 'mirror' });
    expect(buildBody(form({ source: 'clone' }))).toMatchObject({ field: 'clone' });
    expect(progressText({ step: 'fetching', done: 40, total: 120 })).toBe('fetching 40/120');
    expect(progressText(undefined)).toBe('working…');
  });
});

describe('status rows', () => {
  it('are the rows vserver status prints, then the mark and the warnings', () => {
    const rows = guestRows({
      name: 'w',
      context: 100,
      state: 'running',
      hostname: 'w',
      init: 'plain',
      backend: 'dir',
      pid: 42,
      uptime: 65,
      processes: 3,
      idmap: { base: 6553600, size: 65536 },
      mark: 'web',
      warnings: ['the guest is privileged'],
      resources: {
        limits: { memoryMax: 64 * 2 ** 20, memoryHigh: Infinity, cpuMaxCores: Infinity, pidsMax: Infinity, io: [] },
        usage: {
          cpuUsec: 1.5e6,
          memoryBytes: 2 ** 20,
          memoryMax: 64 * 2 ** 20,
          userUsec: 1e6,
          systemUsec: 5e5,
          tasks: 3,
          ioReadBytes: 0,
          ioWriteBytes: 4096,
        },
        events: { oomKills: 1, throttledUsec: 0, throttledPeriods: 0, pidsRefused: 0 },
        lxcfs: { inUse: true, note: 'lxcfs in use' },
      },
      interfaces: [],
    });
    // the rows `vserver status` prints, to the letter, then what the CLI shows elsewhere
    expect(rows).toEqual([
      ['state', 'running'],
      ['context', '100'],
      ['hostname', 'w'],
      ['init', 'plain'],
      ['backend', 'dir'],
      ['init pid', '42'],
      ['processes', '3'],
      ['uptime', '1m05s00'],
      ['ids', 'guest 0-65535 = host 6553600-6619135'],
      ['memory', '1.0M of 64.0M; 1 OOM kill'],
      ['cpu', 'no limit; used 0m01s00 user, 0m00s50 sys; throttled 0m00s00 in 0 periods'],
      ['pids', '3, no limit; 0 forks refused'],
      ['io', 'read 0.0K, written 4.0K'],
      ['/proc', 'lxcfs in use'],
      ['network', 'none (loopback only)'],
      ['mark', 'web'],
      ['warning', 'the guest is privileged'],
    ]);
  });
});

describe('exec frames and events', () => {
  it('put stdin on channel 0 and read the channel of output', () => {
    expect([...stdinFrame('hi')]).toEqual([0, 104, 105]);
    const f = decodeFrame(new Uint8Array([2, 65]).buffer);
    expect({ channel: f!.channel, data: [...f!.data] }).toEqual({ channel: 2, data: [65] });
    expect(decodeFrame(new Uint8Array())).toBeUndefined();
    expect(JSON.parse(resizeMessage(80, 24))).toEqual({ type: 'resize', cols: 80, rows: 24 });
    expect(parseControl('{"type":"exit","code":3}')).toEqual({ type: 'exit', code: 3 });
    expect(parseControl('nonsense').type).toBe('other');
  });

  it('reconnect after a drop, not after an exit, a normal close or a refusal, and not forever', () => {
    expect(shouldReconnect(1006, false, 0)).toBe(true);
    expect(shouldReconnect(1006, true, 0)).toBe(false);
    expect(shouldReconnect(1000, false, 0)).toBe(false);
    expect(shouldReconnect(1008, false, 0)).toBe(false);
    expect(shouldReconnect(1006, false, 10)).toBe(false);
    expect([0, 1, 2, 5].map(reconnectDelay)).toEqual([500, 1000, 2000, 8000]);
  });

  it('split server-sent events across chunks', () => {
    const p = new SseParser();
    expect(p.push('data: {"a":')).toEqual([]);
    expect(p.push('1}\n\n: overflow\n\ndata: x\r\n\r\ndata: y')).toEqual(['{"a":1}', 'x']);
    expect(p.push('\n\n')).toEqual(['y']);
  });

  it('turn any answer into an error that says what happened', () => {
    expect(fromStatus(502, 'Bad Gateway')).toEqual({ error: 'vserverd answered 502: Bad Gateway', code: 'HTTP_502' });
    const missing = new ApiError(404, fromStatus(404, '{"error":"no such route: GET /1.0/events","code":"NOT_FOUND","hint":"h"}'));
    expect(missing.missingRoute).toBe(true);
    expect(new ApiError(404, { error: "guest 'x' not found", code: 'NOT_FOUND' }).missingRoute).toBe(false);
    expect(errorText(missing)).toBe('no such route: GET /1.0/events — h');
  });
});
