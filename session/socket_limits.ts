/**
 * The per-seat limits of operator sockets (README "Limits"): the frame bucket
 * that bounds what a seat's client sends, and the backlog a socket may leave
 * unread, with the metric and the warning each close gets.
 *
 * @module
 */
import { CLOSE } from "../protocol/frames.ts";
import type { Seat, SessionEnv } from "./seat.ts";
import type { SocketPolicyReason } from "../observe/metrics.ts";
import {
  createFrameBucket,
  DEFAULT_FRAME_RATE,
  type FrameBucket,
  type FrameRateLimit,
} from "./frame_bucket.ts";
import { type BacklogLimit, DEFAULT_BACKLOG_LIMIT } from "./send_backlog.ts";
import type { UpgradeOptions } from "./ws.ts";

/** Options of {@link createSocketLimits}. */
export interface SocketLimitsOptions {
  /** Client frames per seat (default {@link DEFAULT_FRAME_RATE}). */
  frameRate?: FrameRateLimit;
  /** What a socket may leave unread (default {@link DEFAULT_BACKLOG_LIMIT}). */
  backlog?: BacklogLimit;
}

/** The limit options of one new socket of a seat (see `upgradeToSession`). */
export type SocketLimits = (
  seat: Seat,
) => Pick<UpgradeOptions, "frames" | "onFrameLimit" | "backlog" | "onSlowConsumer">;

/**
 * The limits of one server's operator sockets. A seat keeps one frame bucket
 * for all its sockets, so a socket closed for its rate gains nothing by
 * reconnecting.
 */
export function createSocketLimits(
  env: Pick<SessionEnv, "log" | "metrics">,
  options: SocketLimitsOptions = {},
): SocketLimits {
  const frameRate = options.frameRate ?? DEFAULT_FRAME_RATE;
  const backlog = options.backlog ?? DEFAULT_BACKLOG_LIMIT;
  const buckets = new WeakMap<Seat, FrameBucket>();
  return function socketLimits(seat) {
    let frames = buckets.get(seat);
    if (!frames) buckets.set(seat, frames = createFrameBucket(frameRate));
    /** A 1008 close: counted by `reason`, and one warning line. */
    const closed = (
      reason: SocketPolicyReason,
      message: string,
      fields: Record<string, number>,
    ) => {
      env.metrics.socketPolicyClosed(reason);
      env.log.warn(message, { sid: seat.sid, code: CLOSE.policyViolation, ...fields });
    };
    return {
      frames,
      onFrameLimit: () =>
        closed("frame_rate", "operator socket over its frame rate limit", {
          frames_per_sec: frameRate.perSec,
          burst: frameRate.burst,
        }),
      backlog,
      onSlowConsumer: (why) =>
        closed(
          "slow_consumer",
          why === "unread_sockets"
            ? "operator socket refused: the seat's earlier sockets left their frames unread"
            : "operator socket not reading its frames",
          { max_backlog_bytes: backlog.maxBytes, grace_ms: backlog.graceMs },
        ),
    };
  };
}
