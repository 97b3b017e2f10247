/**
 * Why a request ended before its reply, for both seat kinds: the `cancel`
 * reason the operator is sent and the error the run's wait rejects with.
 *
 * @module
 */
import { RunEnded } from "../engine/faces.ts";
import type { CancelReason } from "../protocol/frames.ts";

/** The abort reason of a nested ask whose spawn was settled or cancelled. */
export class ParentEnded extends Error {
  constructor() {
    super("the spawn of this ask has ended");
    this.name = "ParentEnded";
  }
}

/** The `cancel` reason and the rejection for an aborted wait. */
export function abortOutcome(reason: unknown): { cancel: CancelReason; error: unknown } {
  if (reason instanceof ParentEnded) return { cancel: "parent_ended", error: reason };
  if (reason instanceof RunEnded) {
    return reason.why === "timeout"
      ? { cancel: "timeout", error: new Error("operator request timed out") }
      : { cancel: "run_ended", error: reason };
  }
  if (reason instanceof DOMException && reason.name === "TimeoutError") {
    return { cancel: "timeout", error: new Error("operator request timed out") };
  }
  return { cancel: "run_ended", error: reason };
}
