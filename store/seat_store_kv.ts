/**
 * The Deno KV seat store. Keys, below `prefix` (default `["seats"]`):
 *
 * - `seat, <sid>` → the {@link SeatRecord}.
 *
 * Operator requests are records of their run (store/run_store_kv.ts).
 *
 * @module
 */
import type { SeatRecord, SeatStore } from "./seat_store.ts";
import { retryKvLocked } from "./kv_retry.ts";

/** Options of {@link createKvSeatStore}. */
export interface KvSeatStoreOptions {
  /** Key prefix of every entry. Default `["seats"]`. */
  prefix?: Deno.KvKey;
}

/** Creates a {@link SeatStore} on `kv`. The caller owns `kv` and closes it. */
export function createKvSeatStore(kv: Deno.Kv, options: KvSeatStoreOptions = {}): SeatStore {
  const { prefix = ["seats"] } = options;
  const seatKey = (sid: string): Deno.KvKey => [...prefix, "seat", sid];
  return {
    async putSeat(seat) {
      await retryKvLocked(() => kv.set(seatKey(seat.sid), seat));
    },

    async deleteSeat(sid) {
      await retryKvLocked(() => kv.delete(seatKey(sid)));
    },

    async listSeats() {
      const out: SeatRecord[] = [];
      for await (const { value } of kv.list<SeatRecord>({ prefix: [...prefix, "seat"] })) {
        out.push(value);
      }
      return out;
    },
  };
}
