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
 * The defaults: 2,000 frames at once, and 2,000 a second after that.
 *
 * The burst bounds how long a flood holds the event loop: Deno hands a socket's
 * frames that have already arrived to JS one after another without letting other
 * sockets in, and a bad frame costs the server 20–50 µs, so 2,000 of them are
 * 40–100 ms. It still takes what client/ sends when a reconnect replays 1,000
 * pending requests (a reply and a `ping` each): a whole fanout at its default
 * width. The rate is above the fastest honest client measured here (~2,000
 * sequential spawn round trips a second on one socket, bench/real_server/
 * spawn_roundtrip.ts, burst to spare), and bounds a seat held at the limit to
 * ~7 % of one core.
 */
export const DEFAULT_FRAME_RATE: FrameRateLimit = { perSec: 2_000, burst: 2_000 };

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
