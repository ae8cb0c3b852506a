// The dashboard's one way to the API: same origin, the session cookie, and the CSRF header on
// every request that changes something.
import { reviveJson } from '../wire/json.js';
import { ApiError, fromStatus, unreachable } from './api-errors.js';

let csrf: string | undefined;

export interface Answer<T> {
  data: T;
  headers: Headers;
  status: number;
}

export async function request<T>(
  method: string,
  path: string,
  opts: { json?: unknown; text?: string; type?: string; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (csrf !== undefined && method !== 'GET') headers['x-vserver-csrf'] = csrf;
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  if (opts.text !== undefined) {
    headers['content-type'] = opts.type ?? 'text/plain';
    body = opts.text;
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw unreachable(location.origin);
  }
  const text = await res.text();
  if (!res.ok) throw new ApiError(res.status, fromStatus(res.status, text));
  const type = res.headers.get('content-type') ?? '';
  const data = (text === '' ? undefined : type.includes('json') ? reviveJson(text) : text) as T;
  return { data, headers: res.headers, status: res.status };
}

/** Answers asked for before the page that shows them was rendered, each taken by the first get of its path. */
const early = new Map<string, Promise<unknown>>();

export const get = async <T>(path: string): Promise<T> => {
  const asked = early.get(path);
  if (asked !== undefined) {
    early.delete(path);
    return asked as Promise<T>;
  }
  return (await request<T>('GET', path)).data;
};

/** Asks for path as soon as `after` (the login) has settled, so the first page's data is on its way before the page renders. */
export function getEarly(path: string, after: Promise<void>): void {
  const asked = after.then(() => request('GET', path)).then((a) => a.data);
  asked.catch(() => undefined); // the page that takes it sees the failure; until then it is not unhandled
  early.set(path, asked);
}
export const send = async <T>(method: string, path: string, json?: unknown): Promise<T> =>
  (await request<T>(method, path, json === undefined ? {} : { json })).data;

/** Logs in with the token of a `vserver dashboard` link, or picks up the session the cookie names. */
export async function startSession(token: string | undefined): Promise<void> {
  const r =
    token === undefined
      ? await get<{ csrf: string }>('/1.0/dashboard/session')
      : await send<{ csrf: string }>('POST', '/1.0/dashboard/login', { token });
  csrf = r.csrf;
}

/**
 * Reads a streamed answer (server-sent events or plain text) chunk by chunk until aborted; resolves
 * when the stream ends. A missing route or refusal rejects with the API's error.
 */
export async function stream(
  path: string,
  onText: (chunk: string) => void,
  signal: AbortSignal,
  accept = 'text/event-stream',
): Promise<void> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { accept }, credentials: 'same-origin', signal, cache: 'no-store' });
  } catch {
    if (signal.aborted) return;
    throw unreachable(location.origin);
  }
  if (!res.ok || res.body === null) throw new ApiError(res.status, fromStatus(res.status, await res.text()));
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      onText(value);
    }
  } catch (e) {
    if (!signal.aborted) throw e;
  }
}
