/**
 * The {@link SeatStore} of a cluster instance, on the shared seat and request
 * rows (store/pg_seats.ts, store/pg_requests.ts). Each change is announced on
 * the bus by id, so every instance updates its view of seats and requests.
 *
 * Requests are not seat records: the cluster session opens and settles request
 * rows itself (session/cluster_hub.ts).
 *
 * @module
 */
import type { SeatRecord, SeatStore } from "./seat_store.ts";
import type { Bus } from "./pg_bus.ts";
import { cancelSeatRequests, REQUEST_TOPICS } from "./pg_requests.ts";
import { deleteSeatRow, insertSeat, listSeatRows, SEAT_TOPICS } from "./pg_seats.ts";
import type { Sql } from "./pg_sql.ts";

/** Bus topic: the requests of a run were dropped (it ended). */
export const RUN_ENDED_TOPIC = "run_ended";

/**
 * Creates the store. `putSeat` of a new sid takes its roles cluster-wide
 * (`conflict` when one is held); of a known sid, it saves `last_seen_at`.
 */
export function createPgSeatStore(sql: Sql, bus: Bus): SeatStore {
  return {
    async putSeat(seat: SeatRecord) {
      const rows = await sql`UPDATE sb_seats SET last_seen_at = ${seat.last_seen_at}
        WHERE sid = ${seat.sid} RETURNING sid`;
      if (rows.length > 0) return;
      await insertSeat(sql, seat);
      await bus.publish(SEAT_TOPICS.changed, seat.sid);
    },
    async deleteSeat(sid, options) {
      const cancelled = await cancelSeatRequests(sql, sid);
      await deleteSeatRow(sql, sid);
      await bus.publish(options?.expired ? SEAT_TOPICS.expired : SEAT_TOPICS.changed, sid);
      for (const row of cancelled) await bus.publish(REQUEST_TOPICS.ended, row.req_id);
    },
    async listSeats() {
      return (await listSeatRows(sql)).map(({ socket_instance: _i, socket_epoch: _e, ...seat }) =>
        seat
      );
    },
  };
}
