/**
 * The one error type of Switchboard. A table maps each code to its HTTP status;
 * `app.onError` (HTTP) and the socket loop (WS) render it in one place each.
 *
 * @module
 */

/** Every error code and the HTTP status it maps to. */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  gone: 410,
  too_large: 413,
  unsupported_media_type: 415,
  invalid: 422,
  too_many_requests: 429,
  internal: 500,
  not_implemented: 501,
  unavailable: 503,
  storage_full: 507,
} as const;

/** A Switchboard error code. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** Extra JSON fields rendered beside `error` (for example `conflicts` or `issues`). */
export type ErrorExtra = Record<string, unknown>;

/** Options of {@link SwitchboardError}. */
export interface SwitchboardErrorOptions extends ErrorOptions {
  /** Extra fields of the JSON error body. */
  extra?: ErrorExtra;
  /** Extra response headers (for example `Allow` on a 405). */
  headers?: Record<string, string>;
}

/** An error with a code and an HTTP status. Messages of 4xx errors are shown to clients. */
export class SwitchboardError extends Error {
  readonly code: ErrorCode;
  readonly status: (typeof ERROR_STATUS)[ErrorCode];
  readonly extra: ErrorExtra | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, options: SwitchboardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SwitchboardError";
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.extra = options.extra;
    this.headers = options.headers;
  }
}

/** True when `err` is a {@link SwitchboardError}, optionally of one code. */
export function isSwitchboardError(err: unknown, code?: ErrorCode): err is SwitchboardError {
  return err instanceof SwitchboardError && (code === undefined || err.code === code);
}
