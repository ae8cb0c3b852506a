// What the dashboard says when a request fails: the API's own error, an absent route, or no daemon.

export interface ApiErrorBody {
  error: string;
  code: string;
  hint?: string;
  line?: number;
  key?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.error);
  }

  /** The daemon does not have this route: it is older, or built without that part of the API. */
  get missingRoute(): boolean {
    return this.status === 404 && this.body.code === 'NOT_FOUND' && this.body.error.startsWith('no such route');
  }
}

/** A failed fetch (no answer at all) as an error that says what to do. */
export function unreachable(origin: string): ApiError {
  return new ApiError(0, {
    error: `cannot reach vserverd at ${origin}`,
    code: 'UNREACHABLE',
    hint: 'check that vserverd runs with a TCP listener (vserverd --listen 127.0.0.1:8443, or systemctl status vserverd) and that your SSH tunnel is up, then reload this page',
  });
}

/** An answer that is not the API's JSON error shape, as one. */
export function fromStatus(status: number, text: string): ApiErrorBody {
  try {
    const b = JSON.parse(text) as Partial<ApiErrorBody>;
    if (typeof b.error === 'string' && typeof b.code === 'string') return b as ApiErrorBody;
  } catch {
    /* not JSON */
  }
  return { error: `vserverd answered ${status}${text ? `: ${text.slice(0, 200)}` : ''}`, code: 'HTTP_' + status };
}

/** One line for the user: message, then what to do. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.body.hint ? `${e.body.error} — ${e.body.hint}` : e.body.error;
  return e instanceof Error ? e.message : String(e);
}

/** What a page says where a route of the API is missing from this daemon. */
export function missingText(what: string): string {
  return `${what} needs an API route this vserverd does not offer; update vserverd to a version that has it.`;
}
