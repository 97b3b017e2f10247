/**
 * Worker self-service (reference/http.md §5, SPEC §5): a sub-agent fetches its
 * prompt and posts its result with the capability token or worker handle from
 * a `spawn` frame.
 *
 * - A second `final` for the same attempt answers 409 (the first wins).
 * - A post for an attempt that is not the current one answers 409.
 * - Anything after the task ended answers 410; handles expire with their task.
 * - `submit` verifies the token's signature and expiry like the other routes.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { SwitchboardError } from "../protocol/errors.ts";
import { PromptQuery, SubmitQuery, WorkerPayload, WorkerResultBody } from "../protocol/worker.ts";
import type { Json } from "../protocol/json.ts";
import type { Engine } from "../engine/mod.ts";
import { isHandle, type TokenAuthority } from "../engine/tokens.ts";
import { jsonBody, queryOf, requireJson } from "./_http.ts";
import { doc, empty, json } from "./_doc.ts";
import { decodeBearer, parserS, verifyBearer, workerRecord } from "./_worker_auth.ts";
import { isPlainJson } from "../protocol/json.ts";

/** What the worker routes need. */
export interface WorkerRoutesDeps {
  engine: Engine;
  tokens: TokenAuthority;
}

const U32_MAX = 4294967295;

/** A submit's body as text: bytes that are not UTF-8 become U+FFFD, BOM kept. */
const lossyUtf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * `WorkerResultBody` checked by hand (the hot path of every worker): the body as
 * the schema outputs it, or undefined when the schema must decide.
 */
export function checkWorkerResult(body: unknown, plain = false): WorkerResultBody | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  // `as`: a JSON object from JSON.parse, read field by field below.
  const { task_id, value, ok, attempt } = body as Record<string, unknown>;
  if (typeof task_id !== "string" || !Object.hasOwn(body, "value")) return undefined;
  if (!(plain || isPlainJson(value))) return undefined;
  if (ok !== undefined && typeof ok !== "boolean") return undefined;
  // `as Json`: isPlainJson accepted it.
  const checked: WorkerResultBody = { task_id, value: value as Json, ok: ok ?? true };
  if (attempt !== undefined) {
    if (typeof attempt !== "number" || !Number.isSafeInteger(attempt)) return undefined;
    if (attempt < 0 || attempt > U32_MAX) return undefined;
    checked.attempt = attempt;
  }
  return checked;
}

/** `PromptQuery` checked by hand: one non-empty `task_id`, or undefined for the schema. */
export function checkPromptQuery(c: Context): { task_id: string } | undefined {
  const ids = c.req.queries("task_id");
  return ids?.length === 1 && ids[0] !== "" ? { task_id: ids[0] } : undefined;
}

/** Routes under `/v1/worker`. */
export function workerRoutes(deps: WorkerRoutesDeps) {
  const { engine, tokens } = deps;
  const tags = ["worker"];
  return new Hono()
    .get(
      "/v1/worker/prompt",
      doc({
        tags,
        summary: "Fetch the prompt of a task's current attempt",
        description: "Bearer: the capability token or the `wh-` worker handle of the spawn.",
        responses: { 200: json(WorkerPayload, "`system` is omitted when none was baked.") },
        errors: [400, 401, 403, 404, 410, 429],
        security: ["workerToken"],
      }),
      queryOf(PromptQuery, checkPromptQuery),
      async (c) => {
        const { task_id } = c.req.valid("query");
        const bearer = parserS(c, {
          scheme: "Authorization must be 'Bearer <token>'",
          empty: "Bearer is empty",
        });
        if (isHandle(bearer)) {
          const record = await workerRecord(tokens, bearer, "fetch_prompt", undefined, "");
          if (record.task_id !== task_id) {
            // never name the task the handle is bound to
            throw new SwitchboardError(
              "forbidden",
              `this worker handle is not bound to ${task_id}`,
            );
          }
        } else {
          await verifyBearer(
            tokens,
            decodeBearer(tokens, bearer),
            "fetch_prompt",
            task_id,
            "fetch_worker_payload",
          );
        }
        return c.json(await engine.prompt(task_id), 200);
      },
    )
    .post(
      "/v1/worker/result",
      doc({
        tags,
        summary: "Post a JSON result for a task",
        description: "Bearer: the capability token only. `ok: false` makes the step blocked.",
        responses: { 204: empty("Recorded as the attempt's final.") },
        errors: [400, 401, 403, 404, 409, 410, 413, 415, 422, 429],
        security: ["workerToken"],
      }),
      requireJson,
      jsonBody(WorkerResultBody, checkWorkerResult),
      async (c) => {
        const body = c.req.valid("json");
        const bearer = parserS(c, {
          scheme: "Authorization must be 'Bearer <token>'",
          empty: "Bearer token is empty",
        });
        const token = decodeBearer(tokens, bearer);
        // the token first: no lookup (and no answer about whether a task exists) without it
        await verifyBearer(tokens, token, "emit_output", body.task_id, "submit_output");
        const known = await engine.task(body.task_id);
        if (!known) {
          throw new SwitchboardError(
            "not_found",
            `engine: task_attempt: task not found: ${body.task_id}`,
          );
        }
        // the 204 confirms a durable result; the run goes on at once
        await engine.postResult({
          taskId: body.task_id,
          attempt: body.attempt,
          nonce: token.nonce,
          value: body.value,
          ok: body.ok,
          context: "post_result",
        });
        return c.body(null, 204);
      },
    )
    .post(
      "/v1/worker/submit",
      doc({
        tags,
        summary: "Post raw text as a task's result",
        description: "Bearer: the capability token or the `wh-` handle. The body (any type, " +
          "≤ 2 MiB) becomes a JSON string with trailing whitespace removed.",
        responses: { 204: empty("Recorded as the attempt's final.") },
        errors: [400, 401, 403, 404, 409, 410, 413, 429],
        security: ["workerToken"],
      }),
      queryOf(SubmitQuery),
      async (c) => {
        const ok = c.req.valid("query").ok !== "false";
        const bearer = parserS(c, {
          scheme: "Authorization must be 'Bearer <token>'",
          empty: "Bearer is empty",
        });
        let taskId: string;
        let nonce: string;
        if (isHandle(bearer)) {
          const record = await workerRecord(tokens, bearer, "post_result", undefined, "");
          taskId = record.task_id!;
          nonce = record.nonce;
        } else {
          const token = decodeBearer(tokens, bearer);
          const record = tokens.record(token.nonce);
          if (token.role !== "worker" || !record?.task_id) {
            await verifyBearer(tokens, token, "post_result", undefined, "task_id_from_token");
            throw new SwitchboardError(
              "unauthorized",
              `engine: task_id_from_token: token not found in store (nonce=${token.nonce})`,
            );
          }
          taskId = record.task_id;
          nonce = token.nonce;
          await verifyBearer(tokens, token, "post_result", taskId, "task_id_from_token");
        }
        // raw bytes decoded as 0.1.2 does (reference/http.md §5.3): bad ones become U+FFFD
        const text = lossyUtf8.decode(await c.req.arrayBuffer()).trimEnd();
        // the 204 confirms a durable result; the run goes on at once
        await engine.postResult({
          taskId,
          nonce,
          value: text,
          ok,
          context: "submit_worker_result",
        });
        return c.body(null, 204);
      },
    );
}
