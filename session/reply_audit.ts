/**
 * What a reply means beyond settling its request: an answer must validate
 * against its ask's `schema` (else it is refused with the issues and the ask
 * stays pending), and every settlement is recorded with who settled it, when,
 * the value, the verdict and any edits (the audit).
 *
 * @module
 */
import { SwitchboardError } from "../protocol/errors.ts";
import type { ReplyFrame, RequestFrame } from "../protocol/frames.ts";
import type { Json } from "../protocol/json.ts";
import type { SettledBy } from "../protocol/operators.ts";
import { answerIssues, AnswerSchemaError } from "../engine/answer_schema.ts";

/** The audit of one settlement. */
export interface Settlement {
  by: SettledBy;
  /** Epoch ms. */
  at: number;
  value: Json;
  ok: boolean;
  /** What an approval changed (`{input}`). */
  edits?: Json;
}

/**
 * Throws `SwitchboardError` (`invalid`, with `issues`) when `reply` answers an
 * ask whose `schema` it does not validate against.
 */
export function checkReply(frame: RequestFrame, reply: ReplyFrame): void {
  if (frame.type !== "ask" || reply.type !== "answer" || frame.schema === undefined) return;
  let issues;
  try {
    issues = answerIssues(frame.schema, reply.value);
  } catch (err) {
    // The schema was checked when the ask was made; a broken one refuses nothing.
    if (err instanceof AnswerSchemaError) return;
    throw err;
  }
  if (issues.length === 0) return;
  throw new SwitchboardError(
    "invalid",
    `answer does not match the ask's schema: ${
      issues.map((i) => `${i.pointer || "/"} ${i.message}`).join("; ")
    }`,
    { extra: { issues } },
  );
}

/** Who settles a request: the seat, and the client its socket declared (`?client=`), if any. */
export function settledBy(
  seat: { sid: string; roles: readonly string[] },
  client: string | null,
): SettledBy {
  return { sid: seat.sid, roles: [...seat.roles], client };
}

/** The audit of `reply`, settled by `by` at `at`. */
export function settlementOf(reply: ReplyFrame, by: SettledBy, at: number): Settlement {
  switch (reply.type) {
    case "answer":
      return { by, at, value: reply.value, ok: true };
    case "hook_ack": {
      const out: Settlement = { by, at, value: reply.reason ?? null, ok: reply.ok };
      if (reply.ok && reply.input !== undefined) out.edits = { input: reply.input };
      return out;
    }
    case "spawn_ack":
      if (typeof reply.error === "string") return { by, at, value: reply.error, ok: false };
      return { by, at, value: reply.value ?? null, ok: reply.ok ?? true };
  }
}
