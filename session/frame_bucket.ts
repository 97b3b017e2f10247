/**
 * A token bucket for client→server frames on an operator socket: every frame
 * takes one token before it is parsed, tokens come back at `perSec` up to
 * `burst`, and a frame that finds the bucket empty is over the limit (the
 * socket is closed 1008 `frame rate limit`, see session/ws.ts).
 *
 * @module
 */

/** The frame rate a seat's sockets may sustain, and the burst above it. */
export interface FrameRateLimit {
  /** Tokens returned per second (`SWITCHBOARD_WS_FRAMES_PER_SEC`). */
  perSec: number;
  /** The bucket's size: frames that may arrive at once (`SWITCHBOARD_WS_FRAME_BURST`). */
  burst: number;
}

/**
 * The defaults. No honest client comes near them: the largest burst this repo
 * sends is 10,000 `spawn_ack`s at once (bench/real_server/waiting_runs.ts at
 * N=10000), and the fastest sustained rate is ~2,000 replies/s on one socket
 * (spawn_roundtrip), which client/ doubles with a `ping` after each reply. A
 * bad frame costs the server 20–35 µs, so a seat held at the limit takes at
 * most ~17 % of one core, and its burst (once per seat) under 0.7 s of CPU.
 */
export const DEFAULT_FRAME_RATE: FrameRateLimit = { perSec: 5_000, burst: 20_000 };

/** Options of {@link createFrameBucket}. */
export interface FrameBucketOptions {
  /** Milliseconds from any fixed origin (default `performance.now`). */
  now?: () => number;
}

/** One seat's bucket. */
export interface FrameBucket {
  /** Takes a token for one frame; false when the bucket is empty (over the limit). */
  take(): boolean;
}

/** A full bucket for `limit`. */
export function createFrameBucket(
  limit: FrameRateLimit,
  options: FrameBucketOptions = {},
): FrameBucket {
  const now = options.now ?? (() => performance.now());
  const perMs = limit.perSec / 1000;
  let tokens = limit.burst;
  let last = now();
  return {
    take: function takeFrameToken() {
      const t = now();
      if (t > last) {
        tokens = Math.min(limit.burst, tokens + (t - last) * perMs);
        last = t;
      }
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
