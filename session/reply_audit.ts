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
import { answerCheck } from "../engine/answer_check.ts";

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
 * Checks that `reply` (from seat `sid`) answers an ask whose `schema` it validates against: nothing
 * to check for other replies (undefined), else a promise that rejects with
 * `SwitchboardError` (`invalid`, with `issues`) when it does not, or when the
 * check ran past its time (engine/answer_check.ts).
 */
export function checkReply(
  frame: RequestFrame,
  reply: ReplyFrame,
  sid: string,
): Promise<void> | undefined {
  if (frame.type !== "ask" || reply.type !== "answer" || frame.schema === undefined) return;
  return answerCheck(frame.schema, reply.value, `seat:${sid}`).then((issues) => {
    if (issues.length === 0) return;
    throw new SwitchboardError(
      "invalid",
      `answer does not match the ask's schema: ${
        issues.map((i) => `${i.pointer || "/"} ${i.message}`).join("; ")
      }`,
      { extra: { issues } },
    );
  });
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
