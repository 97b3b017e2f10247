/**
 * Nested asks of a single-server seat (SPEC §10): the worker of a pending spawn
 * asks the seat that received it. The ask is a request of the spawn's run with
 * `parent_req_id` set and a slot of its own in the run's dedupe keys, and it is
 * cancelled (`parent_ended`) when the spawn is settled or cancelled.
 *
 * @module
 */
import type { Json } from "../protocol/json.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import { answerOf, nestedAskFrame } from "./request_frames.ts";
import { requestKey } from "./request_book.ts";
import type { NestedAskOptions } from "./seat.ts";
import type { SeatRequests } from "./seat_requests.ts";
import { nestedAskFace } from "./nested_signals.ts";

/** The req_id of the pending spawn of an attempt of a run, if `requests` hold one. */
export function pendingSpawn(
  requests: SeatRequests,
  runId: string,
  taskId: string,
  attempt: number,
): string | undefined {
  return requests.find(requestKey(runId, taskId, attempt, "spawn"))?.record.req_id;
}

/**
 * Asks for the worker of the pending spawn `parentReqId`. Throws
 * `SwitchboardError` (`conflict`) when that spawn is not pending.
 */
export function askNested(
  requests: SeatRequests,
  parentReqId: string,
  question: Json,
  options: NestedAskOptions = {},
): { reqId: string; answer: Promise<Json> } {
  const parent = requests.get(parentReqId)?.record;
  if (!parent || parent.kind !== "spawn") {
    throw new SwitchboardError("conflict", "the spawn of this task is not pending");
  }
  const child = requests.child(parentReqId, {
    runId: parent.run_id,
    taskId: parent.task_id,
    attempt: parent.attempt,
  });
  let reqId = "";
  const face = nestedAskFace(parent, parentReqId, child.signal, options);
  const answer = requests.request("ask", parent.task_id, parent.attempt, face, (id) => {
    reqId = id;
    return nestedAskFrame(id, parent, parentReqId, question, options.schema);
  }).then(answerOf).finally(child.release);
  return { reqId, answer };
}

/**
 * Waits again for a nested ask of task `taskId` that nothing waits on (one
 * restored after a restart); undefined when `reqId` is no such ask.
 */
export function adoptNested(
  requests: SeatRequests,
  reqId: string,
  taskId: string,
): Promise<Json> | undefined {
  const entry = requests.get(reqId);
  const frame = entry?.record.frame;
  if (!entry || entry.waiter || frame?.type !== "ask" || entry.record.task_id !== taskId) {
    return undefined;
  }
  const parentReqId = frame.parent_req_id;
  const parent = parentReqId === undefined ? undefined : requests.get(parentReqId)?.record;
  if (parentReqId === undefined || !parent) return undefined;
  const child = requests.child(parentReqId, {
    runId: parent.run_id,
    taskId: parent.task_id,
    attempt: parent.attempt,
  });
  return requests.wait(entry, child.signal).then(answerOf).finally(child.release);
}
