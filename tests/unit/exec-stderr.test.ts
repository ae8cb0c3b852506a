// exec's stderr: the runtime's own failure is held back and reported in vserver's words; anything
// else, even output that starts the same way, reaches the user unchanged.
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchStderr } from '../../src/runtime/oci-cli.js';

const PANIC = 'runtime/cgo: pthread_create failed: Resource temporarily unavailable\nSIGABRT: abort\ngoroutine 0 [idle]:\n';
const RUNC =
  'time="2026-12-02T01:00:41Z" level=error msg="exec failed: unable to start container process: read init-p: connection reset by peer (possibly OOM-killed)"\n';

function feed(chunks: string[]): { done: (code: number) => string | undefined; written: () => string } {
  const s = new PassThrough();
  const out: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((b: string | Uint8Array) => {
    out.push(Buffer.from(b).toString());
    return true;
  });
  const done = watchStderr(s);
  for (const c of chunks) s.emit('data', Buffer.from(c));
  return { done, written: () => out.join('') };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('exec stderr', () => {
  it('holds back the Go panic of a runtime that failed (exit 255) and gives its first line', () => {
    const f = feed([PANIC, 'goroutine 1 [running]:\n']);
    expect(f.done(255)).toBe('runtime/cgo: pthread_create failed: Resource temporarily unavailable');
    expect(f.written()).toBe('');
  });

  it("holds back the panic of runc's set-up process that aborted in the command's place (Go's exit 2)", () => {
    const f = feed([PANIC, 'goroutine 1 [running]:\n']);
    expect(f.done(2)).toBe('runtime/cgo: pthread_create failed: Resource temporarily unavailable');
    expect(f.written()).toBe('');
  });

  it("passes on a command's own exit 2 that starts like the runtime's log line", () => {
    const f = feed([RUNC]);
    expect(f.done(2)).toBeUndefined();
    expect(f.written()).toBe(RUNC);
  });

  it("gives the message of the runtime's own log line", () => {
    const f = feed([RUNC]);
    expect(f.done(255)).toBe('exec failed: unable to start container process: read init-p: connection reset by peer (possibly OOM-killed)');
  });

  it('passes on the same text when the exit status says the command ran (a logrus program in the guest)', () => {
    const f = feed([RUNC, 'more\n']);
    expect(f.done(1)).toBeUndefined();
    expect(f.written()).toBe(`${RUNC}more\n`);
  });

  it('passes anything else on at once', () => {
    const f = feed(['oops\n', PANIC]);
    expect(f.written()).toBe(`oops\n${PANIC}`);
    expect(f.done(255)).toBeUndefined();
  });
});
