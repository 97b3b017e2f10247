/**
 * The app factory. Everything the server holds comes in through `deps`, so a test
 * can build an app with its own registries and stores.
 *
 * @module
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { SwitchboardError } from "./protocol/errors.ts";
import { errorCodeOf } from "./protocol/error_codes.ts";
import { issueAt } from "./protocol/issues.ts";
import type { AppDeps } from "./deps.ts";
import { limitBody, MAX_BODY_BYTES } from "./routes/_http.ts";
import { allowedMethodsOf, unmatched } from "./routes/_fallback.ts";
import { healthRoutes } from "./routes/health.ts";
import { operatorRoutes } from "./routes/operators.ts";
import type { RunRoutesDeps } from "./routes/_runs.ts";
import { runStartRoutes } from "./routes/run_start.ts";
import { runReadRoutes } from "./routes/run_reads.ts";
import { runCancelRoutes } from "./routes/run_cancel.ts";
import { runEventRoutes } from "./routes/run_events.ts";
import { workerRoutes } from "./routes/worker.ts";
import { inboxRoutes } from "./routes/inbox.ts";
import { workerAskRoutes } from "./routes/worker_ask.ts";
import { dataRoutes } from "./routes/data.ts";
import { sessionRoutes } from "./routes/sessions.ts";
import { consoleRoutes } from "./routes/console.ts";
import { blueprintRoutes } from "./routes/blueprints.ts";
import { headAnswers } from "./routes/_head.ts";
import { mountOperability } from "./routes/operability.ts";
import { observeRequests } from "./observe/http_log.ts";
import { authThrottle } from "./routes/_auth_throttle.ts";
import { hostCheck } from "./routes/_host_check.ts";

/** Maps a thrown value to a SwitchboardError (the one place errors get a status). */
export function toSwitchboardError(err: unknown): SwitchboardError {
  if (err instanceof SwitchboardError) return err;
  if (err instanceof HTTPException) {
    const code = err.status === 413
      ? "too_large"
      : err.status === 415
      ? "unsupported_media_type"
      : err.status === 401
      ? "unauthorized"
      : err.status === 404
      ? "not_found"
      : err.status >= 500
      ? "internal"
      : "bad_request";
    return new SwitchboardError(code, err.message || "bad request", { cause: err });
  }
  // Deno KV refuses keys over 2 KiB: an id or key from a client was too long
  if (err instanceof TypeError && /^Key too large for (read|write)/.test(err.message)) {
    return err.message.includes("read")
      ? new SwitchboardError("not_found", "not found: the id or key is too long", { cause: err })
      : new SwitchboardError("bad_request", "an id or key is too long", { cause: err });
  }
  // the client went away, or broke its chunked body, while the body was read
  if (
    err instanceof Deno.errors.BadResource && /^Cannot read (request )?body/.test(err.message)
  ) {
    return new SwitchboardError("bad_request", "the request body could not be read", {
      cause: err,
    });
  }
  return new SwitchboardError("internal", "internal error", { cause: err });
}

/** Builds the Hono app. */
export function createApp(deps: AppDeps) {
  const app = new Hono();

  app.use(headAnswers);
  app.use(observeRequests(deps));
  app.use(hostCheck(deps.config));
  app.use(limitBody(MAX_BODY_BYTES, () => {
    throw new SwitchboardError("too_large", "request body larger than 2 MiB");
  }));

  app.route("/", healthRoutes());
  const apiToken = deps.config.apiToken;
  app.route(
    "/",
    operatorRoutes({
      ...deps,
      apiToken,
      seatLimits: deps.config.seatLimits,
      socketLimits: { frameRate: deps.config.wsFrameRate, backlog: deps.config.wsSendBacklog },
    }),
  );
  const runDeps: RunRoutesDeps = {
    engine: deps.engine,
    runs: deps.stores.runs,
    operators: deps.operators,
    registries: deps,
    seats: deps,
    blueprints: deps.stores.blueprints,
    warn: (message) => deps.log.warn(message),
    defaultAgentKind: deps.config.defaultAgentKind,
    apiToken,
    now: deps.now,
    loadSeat: deps.loadSeat,
    syncSeats: deps.syncSeats,
    watchRemote: deps.watchRemote,
    cancelRemote: deps.cancelRemote,
    runFeed: deps.runFeed,
    storage: deps.storage,
    liveRuns: {
      maxLiveRuns: deps.config.maxLiveRuns ?? 100_000,
      maxLiveCtxBytes: (deps.config.maxLiveCtxMb ?? 1024) * 1024 * 1024,
    },
    streams: deps.streams,
  };
  // the order of the routes (and of the OpenAPI document) as when they were one module
  app.route("/", runStartRoutes(runDeps));
  app.route("/", runReadRoutes(runDeps));
  app.route("/", runCancelRoutes(runDeps));
  app.route("/", runEventRoutes(runDeps));
  app.route(
    "/",
    blueprintRoutes({
      blueprints: deps.stores.blueprints,
      warn: (message) => deps.log.warn(message),
      apiToken,
      storage: deps.storage,
      refBase: deps.config.blueprintRefBase,
      defaultAgentKind: deps.config.defaultAgentKind,
      strictWire: deps.config.strictWire,
    }),
  );
  const throttle = authThrottle({ now: deps.now });
  app.use("/v1/worker/*", throttle);
  app.use("/v1/data/*", throttle);
  if (deps.workerProxy) {
    const proxy = deps.workerProxy;
    app.use("/v1/worker/*", async (c, next) => {
      const answered = await proxy(c.req.raw);
      if (answered) return answered;
      await next();
    });
  }
  app.route("/", workerRoutes(deps));
  app.route("/", workerAskRoutes(deps));
  app.route("/", inboxRoutes({ sessions: deps.sessions, now: deps.now, apiToken }));
  app.route(
    "/",
    dataRoutes({
      data: deps.stores.data,
      tokens: deps.tokens,
      now: deps.now,
      apiToken,
      storage: deps.storage,
    }),
  );
  app.route("/", sessionRoutes({ ...deps, apiToken }));
  app.route("/", consoleRoutes());
  mountOperability(app, deps, deps.streams);

  const allowed = allowedMethodsOf(app);
  app.notFound((c) => {
    throw unmatched(allowed(c.req.path), c.req.method, c.req.path);
  });
  app.onError((err, c) => {
    const known = toSwitchboardError(err);
    // a 5xx's text is shown only when it says what to do (not implemented, busy, storage full)
    const shown = known.status < 500 || known.code === "not_implemented" ||
      known.code === "unavailable" || known.code === "storage_full";
    if (!shown) {
      deps.log.error("internal error", {
        method: c.req.method,
        path: c.req.path,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
    }
    const error = shown ? known.message : "internal error";
    // SPEC §2: a 422 always carries `issues`; one raised without them names the root
    const issues = known.status === 422 && !Array.isArray(known.extra?.issues)
      ? { issues: [issueAt([], error)] }
      : undefined;
    return c.json(
      { error, code: errorCodeOf(known), ...known.extra, ...issues },
      known.status as ContentfulStatusCode,
      known.headers,
    );
  });
  return app;
}

/** The app's type, for the typed client. */
export type App = ReturnType<typeof createApp>;
