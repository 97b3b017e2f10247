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
  readonly roles?: readonly string[];
  pendingByKind(): { ask: number; hb: number; spawn: number };
  /** Pending requests with when they were sent and the role they went to. */
  pendingRecords?(): readonly { sent_at: number; role?: string }[];
}

/**
 * The role a request counts under in the metrics: the role it was addressed to,
 * else the seat's first role, else `none`.
 */
export function requestRole(record: { role?: string }, seat: { roles?: readonly string[] }) {
  return record.role ?? seat.roles?.[0] ?? "none";
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
export function seatGauges(
  seats: () => Iterable<CountableSeat>,
  now: () => number = Date.now,
): GaugeSource {
  return {
    oldestPending() {
      const oldest = new Map<string, number>();
      for (const seat of seats()) {
        for (const record of seat.pendingRecords?.() ?? []) {
          const role = requestRole(record, seat);
          oldest.set(role, Math.min(oldest.get(role) ?? Infinity, record.sent_at));
        }
      }
      const at = now();
      return [...oldest].map(([role, sent]) => ({
        labels: { role },
        value: Math.max(0, (at - sent) / 1000),
      }));
    },
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
