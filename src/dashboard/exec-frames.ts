// The exec WebSocket's frames: binary = one channel byte then data; text = JSON control messages.

export const STDIN = 0;

export function stdinFrame(data: string | Uint8Array): Uint8Array {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const out = new Uint8Array(bytes.length + 1);
  out[0] = STDIN;
  out.set(bytes, 1);
  return out;
}

export function decodeFrame(buf: ArrayBuffer | Uint8Array): { channel: number; data: Uint8Array } | undefined {
  const b = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  return b.length === 0 ? undefined : { channel: b[0]!, data: b.subarray(1) };
}

export const resizeMessage = (cols: number, rows: number) => JSON.stringify({ type: 'resize', cols, rows });

export type Control = { type: 'exit'; code: number } | { type: 'other'; raw: unknown };

export function parseControl(text: string): Control {
  try {
    const m = JSON.parse(text) as { type?: unknown; code?: unknown };
    if (m.type === 'exit' && typeof m.code === 'number') return { type: 'exit', code: m.code };
    return { type: 'other', raw: m };
  } catch {
    return { type: 'other', raw: text };
  }
}

/** Whether a closed console should reconnect: not after the shell exited or a refusal, and not forever. */
export function shouldReconnect(closeCode: number, exited: boolean, attempts: number, maxAttempts = 10): boolean {
  return !exited && closeCode !== 1000 && closeCode !== 1008 && attempts < maxAttempts;
}

/** Waits between reconnection attempts: 0.5 s doubling to 8 s. */
export const reconnectDelay = (attempt: number): number => Math.min(500 * 2 ** attempt, 8000);
