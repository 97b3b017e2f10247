/**
 * The log lines and metrics of a seat's requests, the same for both seat
 * kinds: sent, settled (with its round trip and wait), cancelled.
 *
 * @module
 */
import type { CancelReason, RequestFrame } from "../protocol/frames.ts";
import { requestRole } from "../observe/seat_counts.ts";
import type { SessionEnv } from "./seat.ts";

/** What the lines say of a request. */
interface LoggedRequest {
  req_id: string;
  frame: RequestFrame;
  run_id?: string;
  task_id: string;
  sent_at: number;
  role?: string;
}

/** A request was sent (`delivered`: a live socket took its frame). */
export function requestSent(
  env: SessionEnv,
  sid: string,
  request: LoggedRequest,
  delivered: boolean,
): void {
  env.log.info("operator request sent", {
    sid,
    req_id: request.req_id,
    kind: request.frame.type,
    run_id: request.run_id,
    task_id: request.task_id,
    delivered,
  });
}

/** A request was settled at `now` by a reply to the seat `sid` holding `roles`. */
export function requestSettled(
  env: SessionEnv,
  seat: { sid: string; roles: readonly string[] },
  request: LoggedRequest,
  now: number,
): void {
  const kind = request.frame.type;
  const seconds = Math.max(0, (now - request.sent_at) / 1000);
  env.metrics.observeRoundtrip(kind, seconds);
  env.metrics.observeRequestWait(kind, requestRole(request, seat), seconds);
  env.log.info("operator request settled", {
    sid: seat.sid,
    req_id: request.req_id,
    kind,
    run_id: request.run_id,
    task_id: request.task_id,
  });
}

/** A request ended without a reply. */
export function requestCancelled(
  env: SessionEnv,
  sid: string,
  request: { req_id: string; run_id?: string },
  reason: CancelReason,
): void {
  env.log.info("operator request cancelled", {
    sid,
    req_id: request.req_id,
    run_id: request.run_id,
    reason,
  });
}
