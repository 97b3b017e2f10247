/**
 * Persistence of operator seats (sid, token hash, roles).
 *
 * @module
 */
import type { RequestRecord } from "../protocol/runs.ts";

/** A stored operator seat. The token itself is never stored, only its SHA-256. */
export interface SeatRecord {
  sid: string;
  token_hash: string;
  roles: string[];
  created_at: number;
  last_seen_at: number;
  /** A scoped seat: `{run_id}` or `{blueprint_id}`. */
  scope?: { run_id: string } | { blueprint_id: string };
  /** Set for a `release_on_close` seat: its `grace_secs`. */
  release_after_secs?: number;
}

export type { RequestRecord };

/**
 * Where seats live. A seat's operator requests are records of their run
 * (store/run_store.ts), written by the engine: the seat persists none.
 */
export interface SeatStore {
  putSeat(seat: SeatRecord): Promise<void>;
  /** Deletes a seat; `expired`: the idle sweep deleted it (a cluster says so to the others). */
  deleteSeat(sid: string, options?: { expired?: boolean }): Promise<void>;
  listSeats(): Promise<SeatRecord[]>;
}

/** A seat store in memory (tests and `:memory:`). Lists hand out copies. */
export function createMemorySeatStore(): SeatStore {
  const seats = new Map<string, SeatRecord>();
  return {
    putSeat(seat) {
      seats.set(seat.sid, structuredClone(seat));
      return Promise.resolve();
    },
    deleteSeat(sid) {
      seats.delete(sid);
      return Promise.resolve();
    },
    listSeats() {
      return Promise.resolve([...seats.values()].map((s) => structuredClone(s)));
    },
  };
}
