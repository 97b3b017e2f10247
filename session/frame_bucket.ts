/**
 * A token bucket for client→server frames on an operator socket. Every frame
 * takes tokens before it is parsed (one, plus one per 4 KiB of text: a big frame
 * costs the server more), tokens come back at `perSec` up to `burst`, and a frame
 * that finds too few is over the limit (the socket is closed 1008
 * `frame rate limit`, see session/ws.ts).
 *
 * @module
 */

/** The frame rate a seat's sockets may sustain, and the burst above it. */
export interface FrameRateLimit {
  /** Tokens returned per second (`SWITCHBOARD_WS_FRAMES_PER_SEC`). */
  perSec: number;
  /** The bucket's size: small frames that may arrive at once (`SWITCHBOARD_WS_FRAME_BURST`). */
  burst: number;
}

/**
 * The defaults: 20,000 small frames at once, and 5,000 a second after that.
 *
 * The burst bounds how long a flood holds the event loop: Deno hands a socket's
 * frames that have already arrived to JS one after another without letting other
 * sockets in, and a token's worth of bad frame costs the server 20–50 µs, so a
 * full bucket is 0.4–1 s. It must still take what an honest operator sends at
 * once: the shared measuring stick's `waiting_runs` acks 10,000 parked spawns in
 * one go, and client/ answering a replay of 10,000 pending requests sends a reply
 * and a `ping` each. The rate is above the fastest honest client measured here
 * (~2,000–4,000 sequential spawn round trips a second on one socket).
 */
export const DEFAULT_FRAME_RATE: FrameRateLimit = { perSec: 5_000, burst: 20_000 };

/** Characters of frame text per extra token (a 1 MiB frame of text costs ~7 ms to refuse). */
export const CHARS_PER_TOKEN = 4096;

/** The tokens one frame takes: 1, plus 1 per {@link CHARS_PER_TOKEN} characters (or bytes). */
export function frameCost(data: unknown): number {
  const size = typeof data === "string"
    ? data.length
    : data instanceof ArrayBuffer
    ? data.byteLength
    : 0;
  return 1 + Math.floor(size / CHARS_PER_TOKEN);
}

/** Options of {@link createFrameBucket}. */
export interface FrameBucketOptions {
  /** Milliseconds from any fixed origin (default `performance.now`). */
  now?: () => number;
}

/** One seat's bucket. */
export interface FrameBucket {
  /**
   * Takes `cost` tokens for one frame; false when there are too few (over the
   * limit). A frame dearer than the whole bucket passes when it is full, and
   * leaves it in debt.
   */
  take(cost?: number): boolean;
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
    take: function takeFrameTokens(cost = 1) {
      const t = now();
      if (t > last) {
        tokens = Math.min(limit.burst, tokens + (t - last) * perMs);
        last = t;
      }
      if (tokens < Math.min(cost, limit.burst)) return false;
      tokens -= cost;
      return true;
    },
  };
}
