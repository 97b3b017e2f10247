/**
 * Shared HTTP helpers of the routes: JSON body and query validation with the
 * statuses of SPEC §2, bearer parsing, and the admin guard.
 *
 * @module
 */
import type { Context, MiddlewareHandler, ValidationTargets } from "hono";
import { createMiddleware } from "hono/factory";
import { validator } from "hono-openapi";
import { bodyLimit } from "hono/body-limit";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { SwitchboardError } from "../protocol/errors.ts";
import { jsonProblem, jsonTextTooDeep, MAX_JSON_DEPTH, parsedJsonKind } from "../protocol/json.ts";
import { type Issue, issueAt } from "../protocol/issues.ts";
import { timingSafeEqual } from "../engine/crypto.ts";
import { bearerOf } from "../protocol/bearer.ts";
import type { DiskBudget } from "../store/disk_budget.ts";
import type { Json } from "../protocol/json.ts";
import { jsonBytes } from "../engine/expr/json_bytes.ts";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A request body as text, refused with 400 `bad_request` and `error` when its
 * bytes are not UTF-8 (`c.req.text()` would put U+FFFD in their place).
 */
export async function bodyText(c: Context, error: string): Promise<string> {
  const bytes = await c.req.arrayBuffer();
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new SwitchboardError("bad_request", error);
  }
}

/** The largest request body the server reads (2 MiB). */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** True when a Content-Type names JSON (`application/json`, `application/x+json`). */
export function isJsonContentType(contentType: string | undefined): boolean {
  return JSON_TYPE.test((contentType ?? "").split(";")[0].trim());
}

function issuesOf(issues: readonly StandardSchemaV1.Issue[]): Issue[] {
  return issues.map((i) => issueAt(i.path ?? [], i.message));
}

/**
 * The body limit: `onError` (which throws a 413) for a body over `maxSize` bytes.
 * A declared Content-Length is checked from the header, without opening the body
 * stream (which would slow every later read); any other body goes through Hono's
 * `bodyLimit`, which counts the bytes as they come.
 */
export function limitBody(maxSize: number, onError: () => never): MiddlewareHandler {
  const counted = bodyLimit({ maxSize, onError });
  return async function limitBody(c, next) {
    const length = c.req.header("content-length");
    if (length === undefined || c.req.header("transfer-encoding") !== undefined) {
      return await counted(c, next);
    }
    if (Number.parseInt(length, 10) > maxSize) onError();
    await next();
  };
}

/** Bodies `requireJson` has parsed, for the fast checks of `jsonBody`. */
const parsedBodies = new WeakMap<Request, unknown>();
/** The requests whose parsed body `parsedJsonKind` (protocol/json.ts) found "plain". */
const plainBodies = new WeakSet<Request>();

/**
 * Requires a JSON body: 415 when the content type is not JSON, 400 when the body
 * is not one JSON value. The parsed value is cached for the validator.
 */
export const requireJson: MiddlewareHandler = createMiddleware(async function requireJson(c, next) {
  if (!isJsonContentType(c.req.header("content-type"))) {
    throw new SwitchboardError(
      "unsupported_media_type",
      "Expected request with `Content-Type: application/json`",
    );
  }
  const text = await bodyText(c, "Failed to parse the request body as JSON: invalid UTF-8");
  if (jsonTextTooDeep(text)) {
    const message = `JSON nesting deeper than ${MAX_JSON_DEPTH} levels`;
    throw new SwitchboardError(
      "invalid",
      `Failed to deserialize the JSON body into the target type: ${message}`,
      { extra: { issues: [issueAt([], message)] } },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SwitchboardError(
      "bad_request",
      `Failed to parse the request body as JSON: ${err instanceof Error ? err.message : err}`,
    );
  }
  const kind = parsedJsonKind(parsed);
  const problem = kind === "problem" ? jsonProblem(parsed) : undefined;
  if (problem !== undefined) {
    throw new SwitchboardError(
      "invalid",
      `Failed to deserialize the JSON body into the target type: ${problem.message}`,
      { extra: { issues: [issueAt(problem.path, problem.message)] } },
    );
  }
  c.req.bodyCache.json = Promise.resolve(parsed);
  parsedBodies.set(c.req.raw, parsed);
  if (kind === "plain") plainBodies.add(c.req.raw);
  await next();
});

/** `explain`: the issues in better words, when the route knows them (see `jsonBody`). */
function failWith(
  target: keyof ValidationTargets,
  issues: readonly StandardSchemaV1.Issue[],
  explain?: (issues: Issue[]) => Issue[],
) {
  const list = explain ? explain(issuesOf(issues)) : issuesOf(issues);
  const first = list[0];
  const where = first?.pointer ? `${first.pointer}: ` : "";
  if (target === "json") {
    throw new SwitchboardError(
      "invalid",
      `Failed to deserialize the JSON body into the target type: ${where}${
        first?.message ?? "invalid"
      }`,
      { extra: { issues: list } },
    );
  }
  throw new SwitchboardError(
    "bad_request",
    `Failed to deserialize query string: ${where}${first?.message ?? "invalid"}`,
    { extra: { issues: list } },
  );
}

/**
 * A hand check for a hot route: the body exactly as `schema` would output it when
 * it is well formed, or undefined to let `schema` decide (and word the error). It
 * must never accept what `schema` refuses. `plain`: the body, and so every value
 * in it, is `parsedJsonKind` "plain" (no need to walk a part of it again).
 */
export type FastCheck<S extends StandardSchemaV1> = (
  value: unknown,
  plain: boolean,
) => (StandardSchemaV1.InferOutput<S> & object) | undefined;

/**
 * Validates the JSON body with `schema` (415 / 400 / 422). With `fast`, a body
 * `requireJson` has parsed goes through `fast` first and through `schema` only
 * when `fast` declines; the OpenAPI document is the same either way. `explain`
 * words a refused body's issues better than the schema does, when it can.
 */
export function jsonBody<S extends StandardSchemaV1>(
  schema: S,
  fast?: FastCheck<S>,
  explain?: (body: unknown, issues: Issue[]) => Issue[],
) {
  const slow = validator("json", schema, (result) => {
    if (!result.success) {
      failWith("json", result.error, explain && ((issues) => explain(result.data, issues)));
    }
  });
  if (!fast) return slow;
  const checked: MiddlewareHandler = async function jsonBody(c, next) {
    const raw = c.req.raw;
    const body = parsedBodies.has(raw)
      ? fast(parsedBodies.get(raw), plainBodies.has(raw))
      : undefined;
    if (body === undefined) return await slow(c, next);
    c.req.addValidatedData("json", body);
    await next();
  };
  // `as typeof slow`: Hono reads only the validated shapes from this type, and
  // Object.assign copies slow's OpenAPI metadata (the route's request body).
  return Object.assign(checked, slow) as typeof slow;
}

/**
 * Validates the query string with `schema` (400). With `fast`, a query `fast`
 * reads as well formed skips `schema` (same rule as `jsonBody`).
 */
export function queryOf<S extends StandardSchemaV1>(
  schema: S,
  fast?: (c: Context) => (StandardSchemaV1.InferOutput<S> & object) | undefined,
) {
  const slow = validator("query", schema, (result) => {
    if (!result.success) failWith("query", result.error);
  });
  if (!fast) return slow;
  const checked: MiddlewareHandler = async function queryOf(c, next) {
    const query = fast(c);
    if (query === undefined) return await slow(c, next);
    c.req.addValidatedData("query", query);
    await next();
  };
  // `as typeof slow`: as in jsonBody.
  return Object.assign(checked, slow) as typeof slow;
}

/** The bearer token of a request (`Bearer ` prefix in any case, trimmed), or null. */
export function bearerToken(c: Context): string | null {
  return bearerOf(c.req.header("authorization"));
}

/** Guards admin routes with `SWITCHBOARD_API_TOKEN` when it is set. */
export function adminGuard(apiToken: string | undefined): MiddlewareHandler {
  return createMiddleware(async function adminGuard(c, next) {
    if (apiToken !== undefined) {
      const token = bearerToken(c);
      if (token === null) {
        throw new SwitchboardError("unauthorized", "missing or empty Bearer token", {
          headers: { "WWW-Authenticate": 'Bearer realm="switchboard"' },
        });
      }
      if (!timingSafeEqual(token, apiToken)) {
        throw new SwitchboardError("unauthorized", "invalid API token", {
          headers: { "WWW-Authenticate": 'Bearer realm="switchboard"' },
        });
      }
    }
    await next();
  });
}

/** The admission bounds of new runs (`SWITCHBOARD_MAX_LIVE_RUNS`, `SWITCHBOARD_MAX_LIVE_CTX_MB`). */
export interface LiveRunLimits {
  maxLiveRuns: number;
  maxLiveCtxBytes: number;
}

/**
 * Refuses a new run (503, `Retry-After: 1`) while the runs in progress are at
 * their bound, in number or in the bytes of their initial ctxs with `initCtx`'s.
 */
export function assertRunRoom(
  stats: { live_runs: number; live_init_ctx_bytes: number },
  limits: LiveRunLimits | undefined,
  initCtx: Json,
): void {
  if (!limits) return;
  const busy = (why: string) =>
    new SwitchboardError("unavailable", `too many runs in progress: ${why}; try again later`, {
      headers: { "retry-after": "1" },
    });
  if (stats.live_runs >= limits.maxLiveRuns) {
    throw busy(`${stats.live_runs} of ${limits.maxLiveRuns} (SWITCHBOARD_MAX_LIVE_RUNS)`);
  }
  const bytes = stats.live_init_ctx_bytes + jsonBytes(initCtx);
  if (bytes > limits.maxLiveCtxBytes) {
    throw busy(
      `their initial ctxs would hold ${bytes} of ${limits.maxLiveCtxBytes} bytes of JSON ` +
        "(SWITCHBOARD_MAX_LIVE_CTX_MB)",
    );
  }
}

/** Refuses new work (507 `storage_full`) while the KV file is over its bound (store/disk_budget.ts). */
export function assertStorageRoom(storage: DiskBudget | undefined): void {
  if (!storage?.full()) return;
  const mib = (bytes: number) => Math.ceil(bytes / (1024 * 1024));
  throw new SwitchboardError(
    "storage_full",
    `storage full: the KV file uses ${mib(storage.usage()?.usedBytes ?? 0)} MiB of its ${
      mib(storage.maxBytes)
    } MiB bound (SWITCHBOARD_KV_MAX_MB); ended runs are deleted oldest first to make room`,
  );
}
