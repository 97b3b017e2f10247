/**
 * The bound on open event streams (`SWITCHBOARD_MAX_STREAMS`): each holds a
 * connection and its buffers (about 75 KB idle) for as long as the client
 * keeps it, so their number is capped; past it a new stream answers 503 with
 * `Retry-After`, and the ones open go on.
 *
 * @module
 */
import { SwitchboardError } from "../protocol/errors.ts";

/** Open event streams, counted against a bound. */
export interface StreamSlots {
  /**
   * Takes a slot (503 `unavailable` when all are taken); call the result once to
   * give it back. `end` ends the stream when the server shuts down.
   */
  take(end?: () => void): () => void;
  /** Streams open now. */
  open(): number;
  /** Ends every open stream (a shutdown: their clients reconnect to the next server). */
  endAll(): void;
}

/** Slots for at most `max` open event streams. */
export function createStreamSlots(max: number): StreamSlots {
  let open = 0;
  const enders = new Set<() => void>();
  return {
    take(end) {
      if (open >= max) {
        throw new SwitchboardError(
          "unavailable",
          `too many event streams open: ${open} of ${max} (SWITCHBOARD_MAX_STREAMS); ` +
            "try again later",
          { headers: { "retry-after": "5" } },
        );
      }
      open++;
      const ender = end && (() => end());
      if (ender) enders.add(ender);
      let given = false;
      return () => {
        if (given) return;
        given = true;
        open--;
        if (ender) enders.delete(ender);
      };
    },
    open: () => open,
    endAll() {
      for (const end of [...enders]) end();
    },
  };
}
