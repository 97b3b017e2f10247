/**
 * Turns one text frame from a client into a typed message.
 *
 * @module
 */
import { ClientFrame } from "../protocol/frames.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import { isPlainJson, type Json, jsonTextTooDeep, MAX_JSON_DEPTH } from "../protocol/json.ts";

const TYPES = new Set(["answer", "hook_ack", "spawn_ack", "ping"]);

function isReqId(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function isNullishString(value: unknown): value is string | null | undefined {
  return value === undefined || value === null || typeof value === "string";
}

/**
 * The frame as zod would output it, built without zod when it is well formed;
 * undefined means "ask zod" (which also writes the error message).
 */
function fastFrame(type: string, o: Record<string, unknown>): ClientFrame | undefined {
  if (type === "ping") return { type: "ping" };
  if (!isReqId(o.req_id)) return undefined;
  const req_id = o.req_id;
  if (type === "answer") {
    if (!Object.hasOwn(o, "value") || !isPlainJson(o.value)) return undefined;
    return { type, req_id, value: o.value as Json };
  }
  if (type === "hook_ack") {
    if (typeof o.ok !== "boolean" || !isNullishString(o.reason)) return undefined;
    if (o.input !== undefined) return undefined; // an edited input: zod checks it
    return o.reason === undefined
      ? { type, req_id, ok: o.ok }
      : { type, req_id, ok: o.ok, reason: o.reason };
  }
  // spawn_ack
  const value = o.value === undefined ? null : o.value;
  if (!isPlainJson(value)) return undefined;
  if (o.ok !== undefined && typeof o.ok !== "boolean") return undefined;
  if (!isNullishString(o.error)) return undefined;
  const frame: ClientFrame = { type: "spawn_ack", req_id, value: value as Json, ok: o.ok ?? true };
  if (o.error !== undefined) frame.error = o.error;
  return frame;
}

/**
 * Parses and validates a client frame. Well-formed frames skip zod: a hand check
 * accepts only what `ClientFrame` accepts and returns what it would return; any
 * doubt goes to zod.
 *
 * Throws `SwitchboardError` (`bad_request`) for non-JSON text, a non-object, an
 * unknown `type` or a frame of the wrong shape.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseClientFrame } from "./parse_client_frame.ts";
 * assert.deepEqual(
 *   parseClientFrame('{"type":"answer","req_id":"op-1-ask-2","value":42}'),
 *   { type: "answer", req_id: "op-1-ask-2", value: 42 },
 * );
 * ```
 */
export function parseClientFrame(text: string): ClientFrame {
  // a frame's values may nest MAX_JSON_DEPTH levels below the frame object
  if (jsonTextTooDeep(text, MAX_JSON_DEPTH + 1)) {
    throw new SwitchboardError(
      "bad_request",
      `frame rejected: JSON nesting deeper than ${MAX_JSON_DEPTH} levels`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new SwitchboardError("bad_request", "frame is not valid JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new SwitchboardError("bad_request", "frame must be a JSON object");
  }
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== "string" || !TYPES.has(type)) {
    throw new SwitchboardError(
      "bad_request",
      `unknown frame type: ${
        JSON.stringify(type ?? null)
      } (expected answer, hook_ack, spawn_ack or ping)`,
    );
  }
  const fast = fastFrame(type, raw as Record<string, unknown>);
  if (fast !== undefined) return fast;
  const parsed = ClientFrame.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join(".") : "frame";
    // the error frame names the request the refused reply was for, when it named one
    const reqId = (raw as { req_id?: unknown }).req_id;
    throw new SwitchboardError("bad_request", `invalid ${type} frame: ${where}: ${issue.message}`, {
      extra: isReqId(reqId) ? { req_id: reqId } : undefined,
    });
  }
  return parsed.data;
}
