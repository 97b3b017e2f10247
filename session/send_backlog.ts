/**
 * The outgoing backlog of one operator socket: bytes the server has queued that
 * the kernel has not taken yet (`WebSocket.bufferedAmount`, which Deno keeps on
 * server sockets). A client that never reads makes it grow with every frame sent
 * to it; once it has stayed over the limit for the grace period the socket is
 * closed 1008 `slow consumer` (session/socket_slot.ts).
 *
 * The grace period is what keeps an honest client safe: a reconnect replays
 * every pending request in one synchronous burst, so the backlog of a client
 * that reads at full speed may pass the limit for a moment.
 *
 * @module
 */

/** How much a socket may have queued, and for how long it may stay over that. */
export interface BacklogLimit {
  /** Queued bytes above which the socket counts as not reading. */
  maxBytes: number;
  /** How long the backlog may stay above `maxBytes` (checked at each send). */
  graceMs: number;
}

/** The default: 16 MiB queued for 10 s. */
export const DEFAULT_BACKLOG_LIMIT: BacklogLimit = { maxBytes: 16 * 1024 * 1024, graceMs: 10_000 };

/** Options of {@link createBacklogWatch}. */
export interface BacklogWatchOptions {
  /** Milliseconds from any fixed origin (default `performance.now`). */
  now?: () => number;
}

/** One socket's watch. */
export interface BacklogWatch {
  /** Called before each send with the bytes queued; true once they stayed over the limit too long. */
  over(buffered: number): boolean;
}

/** A watch for one socket. */
export function createBacklogWatch(
  limit: BacklogLimit,
  options: BacklogWatchOptions = {},
): BacklogWatch {
  const now = options.now ?? (() => performance.now());
  let overSince: number | undefined;
  return {
    over: function backlogOver(buffered) {
      if (buffered <= limit.maxBytes) {
        overSince = undefined;
        return false;
      }
      const t = now();
      if (overSince === undefined) {
        overSince = t;
        return false;
      }
      return t - overSince >= limit.graceMs;
    },
  };
}
