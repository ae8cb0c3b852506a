// Every error the tools can report, defined once: code, exit status, HTTP status.
export const ERROR_CODES = {
  INTERNAL: { exit: 1, http: 500 },
  USAGE: { exit: 2, http: 400 },
  NOT_FOUND: { exit: 4, http: 404 },
  INVALID_NAME: { exit: 5, http: 400 },
  ALREADY_RUNNING: { exit: 6, http: 409 },
  NOT_RUNNING: { exit: 7, http: 409 },
  RUNTIME_MISSING: { exit: 8, http: 503 },
  ROOTFS_MISSING: { exit: 9, http: 500 },
  CONFIG_INVALID: { exit: 10, http: 422 },
  BUSY: { exit: 11, http: 423 },
  ALREADY_EXISTS: { exit: 12, http: 409 },
  RUNTIME_FAILED: { exit: 13, http: 500 },
  BUILD_FAILED: { exit: 14, http: 500 },
  DEPENDENCY_MISSING: { exit: 15, http: 503 },
  NO_CONTEXT: { exit: 16, http: 507 },
  INVALID_VALUE: { exit: 17, http: 400 },
  IN_USE: { exit: 18, http: 409 },
  UNSUPPORTED: { exit: 19, http: 501 },
  CHECKSUM_MISMATCH: { exit: 20, http: 422 },
  ADDRESS_IN_USE: { exit: 21, http: 409 },
  NIC_MISSING: { exit: 22, http: 404 },
  NIC_IN_USE: { exit: 23, http: 409 },
  NETWORK_FAILED: { exit: 24, http: 500 },
  NOT_PERMITTED: { exit: 25, http: 403 },
  NO_SPACE: { exit: 26, http: 507 },
  REOWN_UNFINISHED: { exit: 27, http: 409 },
  LIMIT_REACHED: { exit: 28, http: 503 },
  CONFLICT: { exit: 29, http: 412 },
  VERSION_REQUIRED: { exit: 30, http: 428 },
  CANCELLED: { exit: 31, http: 409 },
  UNAUTHORIZED: { exit: 32, http: 401 },
  MIGRATION_FAILED: { exit: 33, http: 502 },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The one error class: a stable code, what is wrong, and what to do about it. */
export class VsError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VsError';
    this.code = code;
    this.hint = hint;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

export function isVsError(e: unknown, code?: ErrorCode): e is VsError {
  return e instanceof VsError && (code === undefined || e.code === code);
}

/** Wraps anything thrown into a VsError so that callers print one shape. */
export function toVsError(e: unknown): VsError {
  if (e instanceof VsError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new VsError('INTERNAL', msg, 'this is a bug or an unexpected host condition; rerun with VSERVER_DEBUG=1 for a stack trace', {
    cause: e,
  });
}

/** errno code of a Node system error, if any. */
export function errnoOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}
