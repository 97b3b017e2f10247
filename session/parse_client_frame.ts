/**
 * Turns one text frame from a client into a typed message.
 *
 * @module
 */
import { ClientFrame } from "../protocol/frames.ts";
import { SwitchboardError } from "../protocol/errors.ts";

const TYPES = new Set(["answer", "hook_ack", "spawn_ack", "ping"]);

/**
 * Parses and validates a client frame.
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
  const parsed = ClientFrame.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join(".") : "frame";
    throw new SwitchboardError("bad_request", `invalid ${type} frame: ${where}: ${issue.message}`);
  }
  return parsed.data;
}
