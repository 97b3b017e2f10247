/**
 * Operator requests as records of their run: the seat that delivers a request
 * reports it sent, settled or cancelled, and the engine writes it into the
 * run's journal (and its event log). A restart reads them back with the run.
 *
 * @module
 */
import type { RequestRecord } from "../protocol/runs.ts";
import type { ReplyFrame, RequestFrame } from "../protocol/frames.ts";
import type { Json } from "../protocol/json.ts";
import type { LiveRun, RunHost } from "./run_types.ts";

const EVENT_TYPE: Record<RequestRecord["state"], string> = {
  pending: "operator_request_sent",
  settled: "operator_request_settled",
  cancelled: "operator_request_cancelled",
};

/** Writes a request's new state into its run's journal (not waiting for the store). */
export function recordRequest(host: RunHost, run: LiveRun, record: RequestRecord): void {
  const runId = run.record.run_id;
  if (record.state === "cancelled") run.requests?.delete(record.req_id);
  else (run.requests ??= new Map()).set(record.req_id, record);
  host.write(runId, () => host.store.putRequest(runId, record));
  run.log.append(EVENT_TYPE[record.state], {
    req_id: record.req_id,
    kind: record.frame.type,
    sid: record.sid,
    task_id: record.task_id,
    attempt: record.attempt,
    ...(record.state === "pending" ? asked(record.frame) : {}),
    ...(record.state === "settled" && record.reply ? { answer: replied(record.reply) } : {}),
  });
}

/** What a request asks, for watchers: never its capability token or worker handle. */
function asked(frame: RequestFrame): Record<string, Json> {
  switch (frame.type) {
    case "ask":
      return { question: frame.question };
    case "hook_before":
      return { agent: frame.agent };
    case "spawn":
      return { agent: frame.agent, prompt: frame.directive };
  }
}

/** The reply without its envelope (`type`, `req_id`). */
function replied(reply: ReplyFrame): Json {
  switch (reply.type) {
    case "answer":
      return reply.value;
    case "hook_ack":
      return { ok: reply.ok, ...(reply.reason == null ? {} : { reason: reply.reason }) };
    case "spawn_ack":
      return {
        ok: reply.ok,
        ...(reply.value === undefined ? {} : { value: reply.value }),
        ...(reply.error == null ? {} : { error: reply.error }),
      };
  }
}
