/**
 * Operator requests in a run's event log, and the audit read back from it: the
 * `operator_request_sent` event carries the context and the question (or the
 * prompt), `operator_request_settled` who settled it (`by: {sid, roles,
 * client}`), when, the value, the verdict and any edits, and
 * `operator_request_cancelled` the reason. `GET /v1/runs/:id` lists them as
 * `requests`.
 *
 * @module
 */
import type { Json, JsonObject } from "../protocol/json.ts";
import type { RunRequest } from "../protocol/operators.ts";
import type { RequestRecord, RunEvent } from "../protocol/runs.ts";
import type { ReplyFrame } from "../protocol/frames.ts";
import { isoTime } from "../observe/iso_time.ts";

/** The three request events. */
export type RequestEventType =
  | "operator_request_sent"
  | "operator_request_settled"
  | "operator_request_cancelled";

/** The `data` of a request event. */
export function requestEventData(type: RequestEventType, record: RequestRecord): JsonObject {
  const frame = record.frame;
  const data: JsonObject = {
    req_id: record.req_id,
    kind: frame.type,
    sid: record.sid,
    task_id: record.task_id,
    attempt: record.attempt,
  };
  if (type === "operator_request_sent") {
    data.sent_at = isoTime(record.sent_at);
    if (record.role !== undefined) data.role = record.role;
    if (frame.context !== undefined) data.context = frame.context;
    if (frame.type !== "ask") data.agent = frame.agent;
    if (frame.type === "ask") {
      data.question = frame.question;
      if (frame.parent_req_id !== undefined) data.parent_req_id = frame.parent_req_id;
    } else if (frame.context?.input !== undefined) {
      data.prompt = frame.context.input;
    }
  } else if (type === "operator_request_settled" && record.settled) {
    const { by, at, value, ok, edits } = record.settled;
    data.by = { sid: by.sid, roles: [...by.roles], client: by.client };
    data.at = isoTime(at);
    data.value = value;
    data.ok = ok;
    if (edits !== undefined) data.edits = edits;
    if (record.reply) data.answer = replied(record.reply);
  } else if (type === "operator_request_cancelled" && record.cancelled) {
    data.reason = record.cancelled;
  }
  return data;
}

/** The reply without its envelope (`type`, `req_id`): what watchers see as `answer`. */
function replied(reply: ReplyFrame): Json {
  switch (reply.type) {
    case "answer":
      return reply.value;
    case "hook_ack": {
      const out: JsonObject = { ok: reply.ok };
      if (reply.reason != null) out.reason = reply.reason;
      if (reply.input !== undefined) out.input = reply.input;
      return out;
    }
    case "spawn_ack": {
      const out: JsonObject = { ok: reply.ok };
      if (reply.value !== undefined) out.value = reply.value;
      if (reply.error != null) out.error = reply.error;
      return out;
    }
  }
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const KINDS = new Set(["ask", "hook_before", "spawn"]);

/** The run's requests, in the order sent, with their audit, read from its events. */
export function requestsOf(events: readonly RunEvent[]): RunRequest[] {
  const byId = new Map<string, RunRequest>();
  for (const event of events) {
    const d = event.data;
    if (!isObject(d) || typeof d.req_id !== "string") continue;
    if (event.type === "operator_request_sent") {
      if (typeof d.kind !== "string" || !KINDS.has(d.kind)) continue;
      // `as`: the fields below were written by requestEventData from a RequestRecord.
      const request = {
        req_id: d.req_id,
        kind: d.kind,
        sid: String(d.sid),
        task_id: String(d.task_id),
        attempt: Number(d.attempt),
        state: "pending",
        sent_at: typeof d.sent_at === "string" ? d.sent_at : isoTime(event.at),
      } as RunRequest;
      for (const key of ["parent_req_id", "context", "question", "prompt", "role"] as const) {
        if (d[key] !== undefined) Object.assign(request, { [key]: d[key] });
      }
      byId.set(d.req_id, request);
      continue;
    }
    const request = byId.get(d.req_id);
    if (!request || request.state !== "pending") continue;
    if (event.type === "operator_request_settled") {
      request.state = "settled";
      for (const key of ["by", "at", "value", "ok", "edits"] as const) {
        if (d[key] !== undefined) Object.assign(request, { [key]: d[key] });
      }
    } else if (event.type === "operator_request_cancelled") {
      request.state = "cancelled";
      if (typeof d.reason === "string") Object.assign(request, { reason: d.reason });
    }
  }
  return [...byId.values()];
}
