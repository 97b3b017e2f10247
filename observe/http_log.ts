/**
 * The request middleware: one JSON log line and one counter increment per HTTP
 * answer, labelled by route pattern (never by raw path, which would carry ids).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import { type Logger, logsAt } from "./log.ts";
import type { Metrics } from "./metrics.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** The run a request started (`POST /v1/tasks`, `POST /v1/runs`): its log line names it. */
    runId: string;
  }
}

/** The route label of requests no route answered (404 and 405 from the fallback). */
export const UNMATCHED_ROUTE = "unmatched";

/** What {@link observeRequests} writes to. */
export interface ObserveRequestsOptions {
  log: Logger;
  metrics: Metrics;
}

/**
 * Logs and counts every request after it is answered. The line carries the
 * route's `sid` and `run_id` when its pattern names them, or the run the
 * request started (`c.set("runId")`); query strings (which may hold a
 * `?token=`) and headers are never logged.
 */
export function observeRequests(options: ObserveRequestsOptions): MiddlewareHandler {
  const { log, metrics } = options;
  const logs = logsAt(log, "info");
  return createMiddleware(async function observeRequests(c, next) {
    const started = performance.now();
    await next();
    // The pattern of the handler that answered (`-1`, the last match, would name
    // `/v1/data/:name` for `POST /v1/data/emit`). A catch-all pattern means no
    // route matched and the fallback answered.
    const pattern = routePath(c);
    const route = pattern === "/*" || pattern === "*" ? UNMATCHED_ROUTE : pattern;
    const status = c.res.status;
    const ms = performance.now() - started;
    const method = c.req.method;
    metrics.httpRequest(route, status, { method, seconds: ms / 1000 });
    if (!logs) return;
    // most routes name no parameter: no params object is built for them
    const params = route.includes(":") ? c.req.param() as Record<string, string> : undefined;
    log.info("http request", {
      method,
      path: c.req.path,
      route,
      status,
      ms: Math.round(ms * 100) / 100,
      sid: params?.sid,
      run_id: params && route.startsWith("/v1/runs/:id") ? params.id : c.get("runId"),
    });
  });
}
