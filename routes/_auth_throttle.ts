/**
 * Throttles failed credential lookups per client address: after
 * {@link AUTH_FAILURES_PER_MINUTE} failures in a minute, a client's requests on
 * the guarded routes answer 429 JSON with `Retry-After` until the minute is over.
 * A guessed worker handle or token is thus worth 20 tries a minute, not thousands
 * a second.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { getConnInfo } from "hono/deno";
import { SwitchboardError } from "../protocol/errors.ts";
import { TokenDecodeError } from "../engine/captoken.ts";

/** Failures allowed per client address and minute. */
export const AUTH_FAILURES_PER_MINUTE = 20;
const WINDOW_MS = 60_000;
/** Client addresses tracked at most (expired ones are dropped first). */
const MAX_CLIENTS = 100_000;

/** Options of {@link authThrottle}. */
export interface AuthThrottleOptions {
  limit?: number;
  now?: () => number;
}

function clientOf(c: Parameters<MiddlewareHandler>[0]): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown"; // app.request() in tests has no connection
  }
}

/** True when a finished request failed on its credentials. */
function failedAuth(status: number, error: unknown): boolean {
  if (status === 401 || status === 403) return true;
  return status === 400 && error instanceof SwitchboardError &&
    error.cause instanceof TokenDecodeError;
}

/** The throttle middleware; one instance per app (its counts are shared by its routes). */
export function authThrottle(options: AuthThrottleOptions = {}): MiddlewareHandler {
  const limit = options.limit ?? AUTH_FAILURES_PER_MINUTE;
  const now = options.now ?? Date.now;
  const windows = new Map<string, { failures: number; resetAt: number }>();
  const prune = (t: number) => {
    for (const [client, w] of windows) if (w.resetAt <= t) windows.delete(client);
    if (windows.size >= MAX_CLIENTS) windows.clear();
  };
  return async function authThrottle(c, next) {
    const client = clientOf(c);
    const t = now();
    let window = windows.get(client);
    if (window && window.resetAt <= t) {
      windows.delete(client);
      window = undefined;
    }
    if (window && window.failures >= limit) {
      const secs = Math.max(1, Math.ceil((window.resetAt - t) / 1000));
      throw new SwitchboardError(
        "too_many_requests",
        `too many failed credentials from this address; retry in ${secs} s`,
        { headers: { "Retry-After": String(secs) } },
      );
    }
    await next();
    if (!failedAuth(c.res.status, c.error)) return;
    if (!window) {
      if (windows.size >= MAX_CLIENTS) prune(t);
      window = { failures: 0, resetAt: t + WINDOW_MS };
      windows.set(client, window);
    }
    window.failures++;
  };
}
