/**
 * How a cluster instance hears about operator requests and seats: the bus notes
 * it listens to, what a request's row now says applied to the pending view, the
 * seats and the waiters here, and the tables read again after the listener
 * reconnects (a missed note is healed, never lost). Rows are the truth; a note
 * says which row changed, with the row when it fits.
 *
 * @module
 */
import type { Logger } from "../observe/log.ts";
import type { Bus } from "../store/pg_bus.ts";
import {
  allPending,
  deleteRequest,
  getRequest,
  REQUEST_TOPICS,
  type RequestRow,
} from "../store/pg_requests.ts";
import { SEAT_TOPICS } from "../store/pg_seats.ts";
import type { Sql } from "../store/pg_sql.ts";
import { RUN_ENDED_TOPIC } from "../store/seat_store_pg.ts";
import { type PendingView, RequestCancelled, type Waiters } from "./cluster_pending.ts";
import type { SeatSync } from "./cluster_seat_sync.ts";
import type { CancelReason } from "../protocol/frames.ts";
import type { HubSeats } from "./hub_seat.ts";

/** What {@link createHubNotes} works with. */
export interface HubNotesOptions {
  sql: Sql;
  bus: Bus;
  instanceId: string;
  log: Logger;
  pending: PendingView;
  waiters: Waiters;
  sync: SeatSync;
  /** This instance's seats (once the hub has started). */
  seats(): HubSeats | undefined;
  /** The req_ids not in the table yet (known here alone, or being written). */
  unwritten(): string[];
}

/** The note side of a hub. */
export function createHubNotes(options: HubNotesOptions) {
  const { sql, bus, instanceId, log, pending, waiters, sync } = options;

  /**
   * Applies what a request's row now says (undefined: the row is gone). The row
   * of a settled or cancelled request may come without its frame (a note's row:
   * store/pg_requests.ts `endedNote`): only a pending row's frame is used.
   */
  const apply = (
    row: RequestRow | undefined,
    reqId: string,
    goneBecause: CancelReason = "run_ended",
  ) => {
    const seats = options.seats();
    if (!row) {
      const gone = pending.drop(reqId);
      if (gone) {
        seats?.get(gone.sid)?.cancelled(reqId, goneBecause);
        seats?.get(gone.sid)?.requestEnded(reqId);
      }
      return;
    }
    if (row.kind === "ha") {
      // a hook_after: the socket holder sends it once and deletes the row
      if (sync.here(row.sid)) {
        seats?.get(row.sid)?.delivered(row);
        deleteRequest(sql, row.req_id).catch(() => {});
      }
      return;
    }
    if (row.state === "pending") {
      if (pending.ended(row.req_id)) return; // a stale note: the request ended since
      pending.keep(row);
      seats?.get(row.sid)?.delivered(row); // the seat sends each req_id once per socket
      return;
    }
    const had = pending.drop(row.req_id);
    if (row.state === "settled") {
      // the row names who answered, from where: the run's audit reads it
      if (row.reply) waiters.resolve(row.req_id, { ...row, state: "settled", reply: row.reply });
      // its nested asks end after the run's journal has the settle, as on one server
      queueMicrotask(() => seats?.get(row.sid)?.requestEnded(row.req_id));
      return;
    }
    seats?.get(row.sid)?.requestEnded(row.req_id);
    const reason = row.cancel_reason ?? "run_ended";
    if (had) seats?.get(row.sid)?.cancelled(row.req_id, reason);
    waiters.reject(row.req_id, new RequestCancelled(reason, sync.expired(row.sid)));
  };

  /** Reads a request's row and applies it. */
  const read = (reqId: string) => {
    getRequest(sql, reqId).then((row) => apply(row, reqId)).catch((err) =>
      log.error("cluster request read failed", { req_id: reqId, error: String(err) })
    );
  };

  /**
   * A request note: the row it carries is applied as is (notes arrive in commit
   * order); one without a row is read. This instance's own notes were applied
   * when it wrote them.
   */
  const onRequestNote = (reqId: string, from: string, row: unknown) => {
    if (row === undefined) return read(reqId);
    if (from === instanceId) return;
    apply(row as RequestRow, reqId);
  };

  /**
   * A run ended: its requests still pending here are gone. A nested ask whose
   * spawn had already ended is cancelled for that (`parent_ended`), as one server
   * does at the spawn's reply, before its run can end: here the run's end may be
   * read before the ask's own cancel lands.
   */
  const onRunEnded = (runId: string) => {
    const rows = pending.ofRun(runId);
    const open = new Set(rows.map((r) => r.req_id));
    for (const row of rows) {
      const parent = row.frame?.type === "ask" ? row.frame.parent_req_id : undefined;
      apply(
        undefined,
        row.req_id,
        parent !== undefined && !open.has(parent) ? "parent_ended" : "run_ended",
      );
    }
  };

  /** Reads seats and pending rows again (after a listener reconnect, and at start). */
  const heal = async () => {
    await sync.syncAll();
    const now = await allPending(sql);
    // requests known here alone, or still being written, are not in the table yet
    const stillPending = new Set([...now.map((r) => r.req_id), ...options.unwritten()]);
    for (const reqId of pending.reqIds()) if (!stillPending.has(reqId)) read(reqId);
    for (const row of now) apply(row, row.req_id);
    for (const reqId of waiters.reqIds()) if (!stillPending.has(reqId)) read(reqId);
  };

  return {
    apply,
    read,
    heal,
    runEnded: onRunEnded,

    /** Subscribes to the bus; returns the unsubscribers. */
    listen(): Array<() => void> {
      return [
        bus.on(REQUEST_TOPICS.opened, onRequestNote),
        bus.on(REQUEST_TOPICS.settled, onRequestNote),
        bus.on(REQUEST_TOPICS.ended, onRequestNote),
        bus.on(SEAT_TOPICS.changed, (sid) => void sync.read(sid).catch(() => {})),
        bus.on(SEAT_TOPICS.expired, (sid) => {
          sync.deleted(sid, true);
          void sync.read(sid).catch(() => {});
        }),
        bus.on(SEAT_TOPICS.socket, (sid) => void sync.read(sid).catch(() => {})),
        bus.on(RUN_ENDED_TOPIC, onRunEnded),
        bus.onHeal(() => {
          log.warn("cluster bus reconnected: reading the tables again");
          heal().catch((err) => log.error("cluster heal failed", { error: String(err) }));
        }),
      ];
    },
  };
}
