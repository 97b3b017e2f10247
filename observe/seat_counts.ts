/**
 * Counts of operator seats and their pending requests, shared by the doctor
 * report and the metrics gauges.
 *
 * @module
 */
import type { GaugeSource } from "./metrics.ts";

/** What a seat exposes for counting (an `OperatorSession` fits). */
export interface CountableSeat {
  readonly connected: boolean;
  pendingByKind(): { ask: number; hb: number; spawn: number };
}

/** Seat and pending counts. Pending kinds use the frame types. */
export interface SeatCounts {
  total: number;
  connected: number;
  disconnected: number;
  pending: { total: number; ask: number; hook_before: number; spawn: number };
}

/** Counts `seats` now. */
export function countSeats(seats: Iterable<CountableSeat>): SeatCounts {
  const counts: SeatCounts = {
    total: 0,
    connected: 0,
    disconnected: 0,
    pending: { total: 0, ask: 0, hook_before: 0, spawn: 0 },
  };
  for (const seat of seats) {
    counts.total++;
    if (seat.connected) counts.connected++;
    else counts.disconnected++;
    const { ask, hb, spawn } = seat.pendingByKind();
    counts.pending.ask += ask;
    counts.pending.hook_before += hb;
    counts.pending.spawn += spawn;
    counts.pending.total += ask + hb + spawn;
  }
  return counts;
}

/** Gauges of `switchboard_operator_sessions{state}` and `switchboard_pending_requests{kind}`. */
export function seatGauges(seats: () => Iterable<CountableSeat>): GaugeSource {
  return {
    sessions() {
      const c = countSeats(seats());
      return [
        { labels: { state: "connected" }, value: c.connected },
        { labels: { state: "disconnected" }, value: c.disconnected },
      ];
    },
    pending() {
      const { ask, hook_before, spawn } = countSeats(seats()).pending;
      return [
        { labels: { kind: "ask" }, value: ask },
        { labels: { kind: "hook_before" }, value: hook_before },
        { labels: { kind: "spawn" }, value: spawn },
      ];
    },
  };
}
