/**
 * Nested asks (SPEC §10): a spawned worker asks the operator that received its
 * spawn. `POST /v1/worker/ask` (capability token or handle) sends that seat an
 * `ask` whose `parent_req_id` is the spawn's req_id, waits up to `wait_secs`
 * and answers 200 `{value}`, else 202 `{req_id}` to poll with
 * `GET /v1/worker/ask/:req_id`. Cancelling the spawn cancels its nested asks.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { SwitchboardError } from "../protocol/errors.ts";
import type { Json } from "../protocol/json.ts";
import {
  MAX_ASK_WAIT_SECS,
  WorkerAskAccepted,
  WorkerAskAnswer,
  WorkerAskBody,
  WorkerAskState,
} from "../protocol/worker.ts";
import { compileAnswerSchemas, type Engine, isTerminal } from "../engine/mod.ts";
import type { TokenAuthority } from "../engine/tokens.ts";
import { messageOf } from "../engine/spawner.ts";
import { ParentEnded } from "../session/abort_outcome.ts";
import type { Seat } from "../session/seat.ts";
import { jsonBody, queryOf, requireJson } from "./_http.ts";
import { doc, json } from "./_doc.ts";
import { parserS, workerRecord } from "./_worker_auth.ts";

/** What the nested-ask routes need. */
export interface WorkerAskDeps {
  engine: Engine;
  tokens: TokenAuthority;
  sessions: ReadonlyMap<string, Seat>;
}

/** One nested ask, as the polling route sees it. */
interface NestedAsk {
  taskId: string;
  state: WorkerAskState;
  done: Promise<void>;
}

/** Ended nested asks kept for polling; older ones are dropped first. */
const MAX_ENDED = 10_000;

const WaitQuery = z.object({
  wait_secs: z.coerce.number().min(0).max(MAX_ASK_WAIT_SECS).default(0),
});

const AUTH_TEXTS = { scheme: "Authorization must be 'Bearer <token>'", empty: "Bearer is empty" };

/** Why a nested ask ended without an answer. */
function cancelReason(err: unknown): string {
  if (err instanceof ParentEnded) return "parent_ended";
  const message = messageOf(err);
  if (message === "operator request timed out") return "timeout";
  if (message.startsWith("operator session")) return "session_deleted";
  return message;
}

/** Waits for `done` at most `secs` seconds (or until `signal` aborts); true when it settled. */
async function within(done: Promise<void>, secs: number, signal: AbortSignal): Promise<boolean> {
  if (secs <= 0) return false;
  const { promise: expired, resolve } = Promise.withResolvers<boolean>();
  const timer = setTimeout(() => resolve(false), secs * 1000);
  const onAbort = () => resolve(false);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await Promise.race([done.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

/** Routes `POST /v1/worker/ask` and `GET /v1/worker/ask/:req_id`. */
export function workerAskRoutes(deps: WorkerAskDeps) {
  const asks = new Map<string, NestedAsk>();
  const ended: string[] = [];
  const tags = ["worker"];

  /** The task id the request's bearer (token or handle) stands for. */
  async function taskOf(c: Context) {
    const bearer = parserS(c, AUTH_TEXTS);
    const record = await workerRecord(deps.tokens, bearer, "post_result", undefined, "worker_ask");
    if (!record.task_id) {
      throw new SwitchboardError("forbidden", "engine: worker_ask: the token has no task");
    }
    return record.task_id;
  }

  /** The seat holding the pending spawn of the task's current attempt. */
  async function spawnOf(taskId: string): Promise<{ session: Seat; reqId: string }> {
    const task = await deps.engine.task(taskId);
    if (!task) {
      throw new SwitchboardError("not_found", `engine: worker_ask: task not found: ${taskId}`);
    }
    if (isTerminal(task.status)) {
      throw new SwitchboardError("gone", `engine: worker_ask: task ${taskId} has ended`);
    }
    for (const session of deps.sessions.values()) {
      const reqId = session.pendingSpawn(task.run_id, task.id, task.attempt);
      if (reqId !== undefined) return { session, reqId };
    }
    throw new SwitchboardError(
      "conflict",
      `engine: worker_ask: no operator holds a pending spawn of ${taskId} (a nested ask goes ` +
        "to the operator that received the spawn)",
    );
  }

  /**
   * Follows a nested ask made before a restart (or a takeover), pending at one
   * of the seats, or ended and stored.
   */
  async function adopt(reqId: string, taskId: string): Promise<NestedAsk | undefined> {
    for (const session of deps.sessions.values()) {
      const answer = session.adoptNested(reqId, taskId);
      if (answer) return track(reqId, taskId, answer);
    }
    for (const session of deps.sessions.values()) {
      const stored = await session.storedNested?.(reqId, taskId);
      if (stored) return asks.get(reqId) ?? track(reqId, taskId, stored.answer);
    }
    return undefined;
  }

  /** Registers a nested ask and follows its answer. */
  function track(reqId: string, taskId: string, answer: Promise<Json>): NestedAsk {
    const entry: NestedAsk = {
      taskId,
      state: { req_id: reqId, state: "pending" },
      done: answer.then(
        (value: Json) => {
          entry.state = { req_id: reqId, state: "settled", value };
        },
        (err) => {
          entry.state = { req_id: reqId, state: "cancelled", reason: cancelReason(err) };
        },
      ).finally(() => remember(reqId)),
    };
    asks.set(reqId, entry);
    return entry;
  }

  function remember(reqId: string) {
    ended.push(reqId);
    while (ended.length > MAX_ENDED) asks.delete(ended.shift()!); // `!`: length > 0
  }

  return new Hono()
    .post(
      "/v1/worker/ask",
      doc({
        tags,
        summary: "Ask the operator of this spawn (a nested ask)",
        description: "Bearer: the spawn's capability token or `wh-` handle. The seat that " +
          "received the spawn gets an `ask` with `parent_req_id` set to the spawn's req_id " +
          "(and its context). Waits up to `wait_secs` (default 30): 200 `{value}` when " +
          "answered, else 202 `{req_id}` to poll. Cancelled with the spawn.",
        responses: {
          200: json(WorkerAskAnswer, "The operator's answer."),
          202: json(WorkerAskAccepted, "Not answered yet: poll `GET /v1/worker/ask/:req_id`."),
        },
        errors: [400, 401, 403, 404, 409, 410, 413, 415, 422],
        security: ["workerToken"],
      }),
      requireJson,
      jsonBody(WorkerAskBody),
      async (c) => {
        const body = c.req.valid("json");
        const taskId = await taskOf(c);
        if (body.schema !== undefined) {
          const [broken] = await compileAnswerSchemas([body.schema], `task:${taskId}`);
          if (broken) throw new SwitchboardError("invalid", `schema: ${broken.message}`);
        }
        const { session, reqId: spawnReqId } = await spawnOf(taskId);
        const { reqId, answer } = session.askNested(spawnReqId, body.question, {
          schema: body.schema,
        });
        const entry = track(reqId, taskId, answer);
        if (await within(entry.done, body.wait_secs, c.req.raw.signal)) {
          if (entry.state.state === "settled") {
            return c.json({ value: entry.state.value ?? null }, 200);
          }
          throw new SwitchboardError("gone", `ask cancelled: ${entry.state.reason}`, {
            extra: { req_id: reqId },
          });
        }
        return c.json({ req_id: reqId }, 202);
      },
    )
    .get(
      "/v1/worker/ask/:req_id",
      doc({
        tags,
        summary: "Poll a nested ask",
        description: "Bearer: the same task's capability token or handle. `?wait_secs=` " +
          "(default 0) waits for the answer first.",
        responses: { 200: json(WorkerAskState, "pending, settled (with value) or cancelled.") },
        errors: [400, 401, 403, 404],
        security: ["workerToken"],
      }),
      queryOf(WaitQuery),
      async (c) => {
        const reqId = c.req.param("req_id");
        const entry = asks.get(reqId);
        // The bearer is checked first, so an unknown id tells a stranger nothing.
        const taskId = await taskOf(c);
        const known = entry ?? await adopt(reqId, taskId);
        if (!known || known.taskId !== taskId) {
          throw new SwitchboardError("not_found", `no nested ask ${reqId} for this task`);
        }
        await within(known.done, c.req.valid("query").wait_secs, c.req.raw.signal);
        return c.json(known.state, 200);
      },
    );
}
