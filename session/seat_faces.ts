/**
 * The `ask` and `hook_before` faces, the same for both seat kinds over the
 * request sender each holds: build the frame, wait for the reply, read it.
 *
 * @module
 */
import type { CtxView, FaceCallOptions, HookEdits } from "../engine/faces.ts";
import type { Json } from "../protocol/json.ts";
import type { ReplyFrame, RequestFrame } from "../protocol/frames.ts";
import type { RequestKind } from "../protocol/runs.ts";
import { answerOf, askFrame, hookBeforeFrame, hookEditsOf } from "./request_frames.ts";

/** Opens a request of a seat and resolves with its reply. */
export interface RequestSender {
  request(
    kind: RequestKind,
    taskId: string,
    attempt: number,
    options: FaceCallOptions,
    build: (reqId: string) => RequestFrame,
  ): Promise<ReplyFrame>;
}

/** Senior bridge: sends `ask` and resolves with the answer's value. */
export async function askVia(
  sender: RequestSender,
  taskId: string,
  question: Json,
  options: FaceCallOptions,
): Promise<Json> {
  const reply = await sender.request(
    "ask",
    taskId,
    options.attempt ?? 1,
    options,
    (reqId) => askFrame(reqId, taskId, question, options),
  );
  return answerOf(reply);
}

/**
 * Spawn hook: sends `hook_before`; a veto rejects with the operator's reason,
 * an approval with `input` resolves with that edit.
 */
export async function beforeVia(
  sender: RequestSender,
  ctx: CtxView,
  options: FaceCallOptions,
): Promise<void | HookEdits> {
  const reply = await sender.request(
    "hb",
    ctx.taskId,
    ctx.attempt,
    { runId: ctx.runId, deadlineAt: ctx.deadlineAt, ...options },
    (reqId) => hookBeforeFrame(reqId, ctx),
  );
  return hookEditsOf(reply);
}
