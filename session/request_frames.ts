/**
 * The request frames a seat sends for each face, and what their replies mean to
 * the run. Pure functions, shared by the single-process seat and the cluster seat.
 *
 * @module
 */
import type {
  CtxView,
  FaceCallOptions,
  HookEdits,
  WorkerGrant,
  WorkerResult,
} from "../engine/faces.ts";
import type { Json } from "../protocol/json.ts";
import type { ReplyFrame, RequestFrame, ServerFrame } from "../protocol/frames.ts";

/** `frame` with the attempt's `context`, when the engine gave one. */
export function withContext<F extends RequestFrame | ServerFrame>(frame: F, ctx: CtxView): F {
  if (ctx.context !== undefined) Object.assign(frame, { context: ctx.context });
  return frame;
}

/** An `ask` frame, with the schema, parent and context the call carries. */
export function askFrame(
  reqId: string,
  taskId: string,
  question: Json,
  options: FaceCallOptions,
): RequestFrame {
  const frame: RequestFrame = { type: "ask", req_id: reqId, task_id: taskId, question };
  if (options.schema !== undefined) frame.schema = options.schema;
  if (options.parentReqId !== undefined) frame.parent_req_id = options.parentReqId;
  if (options.context !== undefined) frame.context = options.context;
  return frame;
}

/**
 * A nested `ask`: the worker of the spawn `parentReqId` asks, with the spawn's
 * task and context.
 */
export function nestedAskFrame(
  reqId: string,
  parent: { task_id: string; frame: RequestFrame },
  parentReqId: string,
  question: Json,
  schema: Record<string, Json> | undefined,
): RequestFrame {
  const frame: RequestFrame = {
    type: "ask",
    req_id: reqId,
    task_id: parent.task_id,
    question,
    parent_req_id: parentReqId,
  };
  if (schema !== undefined) frame.schema = schema;
  if (parent.frame.context !== undefined) frame.context = parent.frame.context;
  return frame;
}

/** The value an `ask` resolves with. */
export function answerOf(reply: ReplyFrame): Json {
  return reply.type === "answer" ? reply.value : null;
}

/** A `hook_before` frame for the attempt. */
export function hookBeforeFrame(reqId: string, ctx: CtxView): RequestFrame {
  return withContext({
    type: "hook_before",
    req_id: reqId,
    task_id: ctx.taskId,
    agent: ctx.agent,
    attempt: ctx.attempt,
  }, ctx);
}

/** A `hook_ack`'s meaning: a veto throws its reason, an approval may carry an edit. */
export function hookEditsOf(reply: ReplyFrame): void | HookEdits {
  if (reply.type !== "hook_ack") return;
  if (!reply.ok) throw new Error(reply.reason ?? "ws operator: spawn rejected");
  if (reply.input !== undefined) return { input: reply.input };
}

/** A `hook_after` frame for the attempt's result. */
export function hookAfterFrame(reqId: string, ctx: CtxView, result: Json) {
  return withContext({
    type: "hook_after" as const,
    req_id: reqId,
    task_id: ctx.taskId,
    agent: ctx.agent,
    attempt: ctx.attempt,
    result,
  }, ctx);
}

/** A `spawn` frame with the attempt's credentials and the worker's directive. */
export function spawnFrame(
  reqId: string,
  ctx: CtxView,
  grant: WorkerGrant,
  directive: string,
): RequestFrame {
  return withContext({
    type: "spawn",
    req_id: reqId,
    task_id: ctx.taskId,
    agent: ctx.agent,
    attempt: ctx.attempt,
    capability_token: grant.capabilityToken,
    worker_handle: grant.workerHandle,
    directive,
  }, ctx);
}

/** The `project_name_alias` of the run's runtime, when it is a string. */
export function aliasOf(ctx: CtxView): string | undefined {
  const alias = ctx.runtime.project_name_alias;
  return typeof alias === "string" ? alias : undefined;
}

/** The outcome of a `spawn` from its reply. */
export function spawnResult(reply: ReplyFrame): WorkerResult {
  if (reply.type !== "spawn_ack") return { value: null, ok: true };
  if (typeof reply.error === "string") throw new Error(reply.error);
  return { value: reply.value ?? null, ok: reply.ok ?? true };
}
