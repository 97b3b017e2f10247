import assert from "node:assert/strict";
import type { RequestRecord, RunEvent } from "../protocol/runs.ts";
import { requestEventData, requestsOf } from "./request_audit.ts";

const sent: RequestRecord = {
  req_id: "op-1-ask-a",
  sid: "op-1",
  kind: "ask",
  run_id: "run-1",
  task_id: "ask/",
  attempt: 1,
  frame: {
    type: "ask",
    req_id: "op-1-ask-a",
    task_id: "ask/",
    question: "ship?",
    context: { run_id: "run-1", blueprint_id: "bp", blueprint_version: null, step: "/" },
  },
  sent_at: Date.parse("2026-12-06T04:00:00Z"),
  state: "pending",
  role: "reviewer",
};

function event(id: number, type: string, record: RequestRecord): RunEvent {
  // `as`: these three are the request event types
  const data = requestEventData(type as "operator_request_sent", record);
  return { id, type, at: record.sent_at + id, data };
}

Deno.test("requestsOf() reads requests, their audit and cancellations back from events", () => {
  const settled: RequestRecord = {
    ...sent,
    state: "settled",
    settled: {
      by: { sid: "op-1", roles: ["reviewer"], client: "desk/1" },
      at: Date.parse("2026-12-06T04:01:00Z"),
      value: "yes",
      ok: true,
    },
  };
  const other: RequestRecord = {
    ...sent,
    req_id: "op-1-hb-b",
    kind: "hb",
    frame: {
      type: "hook_before",
      req_id: "op-1-hb-b",
      task_id: "T-1",
      agent: "impl",
      attempt: 1,
      context: { run_id: "run-1", blueprint_id: "bp", blueprint_version: null, input: "do X" },
    },
  };
  const requests = requestsOf([
    event(1, "operator_request_sent", sent),
    event(2, "step_started", sent), // not a request event: skipped
    event(3, "operator_request_sent", other),
    event(4, "operator_request_settled", settled),
    event(5, "operator_request_cancelled", { ...other, state: "cancelled", cancelled: "timeout" }),
  ]);
  assert.deepEqual(requests, [
    {
      req_id: "op-1-ask-a",
      kind: "ask",
      sid: "op-1",
      task_id: "ask/",
      attempt: 1,
      state: "settled",
      sent_at: "2026-12-06T04:00:00.000Z",
      context: sent.frame.context,
      question: "ship?",
      role: "reviewer",
      by: { sid: "op-1", roles: ["reviewer"], client: "desk/1" },
      at: "2026-12-06T04:01:00.000Z",
      value: "yes",
      ok: true,
    },
    {
      req_id: "op-1-hb-b",
      kind: "hook_before",
      sid: "op-1",
      task_id: "ask/",
      attempt: 1,
      state: "cancelled",
      sent_at: "2026-12-06T04:00:00.000Z",
      context: other.frame.context,
      prompt: "do X",
      role: "reviewer",
      reason: "timeout",
    },
  ]);
});
