/**
 * Seats across a cluster, as one instance follows them: every seat minted
 * anywhere is registered here, a seat deleted elsewhere is torn down here, and
 * the instance holding each seat's socket is known (with its epoch, so an older
 * socket here is closed as replaced). Seat rows are the truth; a `seat` or
 * `seat_socket` note says which one to read.
 *
 * @module
 */
import { getSeat, listSeatRows, type SeatRow } from "../store/pg_seats.ts";
import type { Sql } from "../store/pg_sql.ts";
import type { HubSeats } from "./hub_seat.ts";

/** Where a seat's socket is, as last read. */
export interface SocketHolder {
  instance: string | null;
  epoch: number;
}

/** Options of {@link createSeatSync}. */
export interface SeatSyncOptions {
  sql: Sql;
  instanceId: string;
  /** This instance's seats (once the hub has started). */
  seats(): HubSeats | undefined;
  /** A seat's socket is not on this instance (any more). */
  socketAway(sid: string): void;
  /** A seat was deleted (elsewhere, or here). */
  seatGone(sid: string): void;
}

/**
 * How long the sid of a deleted seat is remembered: a read of its row begun
 * before the deletion must not register it again (its roles would look held).
 */
const GONE_KEEP_MS = 5 * 60_000;

/** Follows the cluster's seats for one instance. */
export function createSeatSync(options: SeatSyncOptions) {
  const { sql, instanceId } = options;
  const sockets = new Map<string, SocketHolder>();
  /** Sids of seats deleted, by when (sids are never reused). */
  const gone = new Map<string, number>();
  /** Those of them the idle sweep deleted (here or elsewhere). */
  const expired = new Set<string>();

  const deleted = (sid: string, byIdleSweep = false) => {
    const now = Date.now();
    if (byIdleSweep) expired.add(sid);
    if (!gone.has(sid)) gone.set(sid, now);
    for (const [old, at] of gone) {
      if (now - at < GONE_KEEP_MS) break;
      gone.delete(old);
      expired.delete(old);
    }
  };

  const socketRead = (row: SeatRow) => {
    const known = sockets.get(row.sid);
    if (known && known.epoch > row.socket_epoch) return;
    sockets.set(row.sid, { instance: row.socket_instance, epoch: row.socket_epoch });
    if (row.socket_instance !== instanceId) options.socketAway(row.sid);
    const seat = options.seats()?.get(row.sid);
    if (!seat) return;
    // activity seen by another instance counts here too (the idle sweep runs everywhere)
    if (row.last_seen_at > seat.lastSeenAt) seat.lastSeenAt = row.last_seen_at;
    seat.socketMoved(row.socket_instance, row.socket_epoch);
  };

  /** Reads one seat's row and applies it (registered, moved, or gone). */
  const read = async (sid: string): Promise<void> => {
    const row = await getSeat(sql, sid);
    const seats = options.seats();
    // a row read before the seat's deletion here is gone too (its waiters fail)
    if (!row || gone.has(sid)) {
      deleted(sid);
      sockets.delete(sid);
      seats?.remove(sid);
      options.seatGone(sid);
      return;
    }
    if (!seats?.get(sid)) seats?.add(row);
    socketRead(row);
  };

  return {
    read,

    /** Reads every seat row again: seats gone elsewhere end here, new ones are added. */
    async syncAll(): Promise<void> {
      const rows = await listSeatRows(sql);
      const live = new Set(rows.map((r) => r.sid));
      for (const sid of options.seats()?.sids() ?? []) if (!live.has(sid)) await read(sid);
      for (const row of rows) {
        if (gone.has(row.sid)) continue;
        if (!options.seats()?.get(row.sid)) options.seats()?.add(row);
        socketRead(row);
      }
    },

    /**
     * A seat was deleted (`byIdleSweep`: by the idle sweep): a read of its row in
     * flight does not bring it back.
     */
    deleted,

    /** True when the idle sweep deleted the seat (its requests fail with `(idle expiry)`). */
    expired: (sid: string): boolean => expired.has(sid),

    /** The seat's socket holder as last read. */
    socketOf: (sid: string): SocketHolder | undefined => sockets.get(sid),

    /** True when this instance holds the seat's socket (as written here or last read). */
    here: (sid: string): boolean => sockets.get(sid)?.instance === instanceId,

    /** Notes the socket holder this instance just wrote. */
    written(sid: string, instance: string | null, epoch: number): void {
      const known = sockets.get(sid);
      if (!known || known.epoch <= epoch) sockets.set(sid, { instance, epoch });
    },
  };
}

/** The seat follower's type. */
export type SeatSync = ReturnType<typeof createSeatSync>;
