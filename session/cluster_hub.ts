/**
 * The cluster side of operator seats, one per instance. Request rows are the
 * truth; the bus says which row changed (with the row, when it fits). The hub:
 *
 * - opens requests for the runs this instance owns (fenced by the run's epoch;
 *   those of runs it started go through session/cluster_run_requests.ts), and
 *   wakes their waiters when a reply or a cancel lands, wherever it landed;
 * - keeps a view of every pending request of the cluster
 *   (session/cluster_pending.ts), so the instance that holds a seat's socket
 *   delivers new requests, replays them on reconnect and checks replies, and
 *   any instance can list them;
 * - keeps every seat registered on every instance (session/cluster_seat_sync.ts);
 * - heals after its listener reconnects by reading the tables again.
 *
 * @module
 */
import type { Logger } from "../observe/log.ts";
import type { Metrics } from "../observe/metrics.ts";
import type { CancelReason, ReplyFrame } from "../protocol/frames.ts";
import type { Bus } from "../store/pg_bus.ts";
import {
  allPending,
  cancelRequest,
  deleteRequest,
  deleteRunRequests,
  getRequest,
  insertHookAfter,
  openRequest,
  REQUEST_TOPICS,
  type RequestRow,
  requestsOfRuns,
  settleRequest,
} from "../store/pg_requests.ts";
import { busNote } from "../store/pg_bus.ts";
import { FencedError } from "../store/pg_run_owner.ts";
import { SEAT_TOPICS, type SeatRow } from "../store/pg_seats.ts";
import type { Sql } from "../store/pg_sql.ts";
import type { PgRunStore } from "../store/run_store_pg.ts";
import { RUN_ENDED_TOPIC } from "../store/seat_store_pg.ts";
import { createPendingView, createWaiters } from "./cluster_pending.ts";
import { createRunRequests } from "./cluster_run_requests.ts";
import { createSeatSync } from "./cluster_seat_sync.ts";

/** What the hub tells the seat objects of this instance. */
export interface HubSeat {
  readonly sid: string;
  /** The seat's last activity seen here (the idle sweep reads it). */
  lastSeenAt: number;
  /** A pending request of this seat appeared (deliver it if the socket is here). */
  delivered(row: RequestRow): void;
  /** A request of this seat ended without a reply (cancel it on the socket here). */
  cancelled(reqId: string, reason: CancelReason): void;
  /** A request of this seat is no longer pending (its nested asks end with it). */
  requestEnded(reqId: string): void;
  /** The seat's socket moved to `instance` at `epoch` (close an older one here). */
  socketMoved(instance: string | null, epoch: number): void;
  /** True while this instance holds the seat's socket. */
  readonly holdsSocket: boolean;
}

/** What the hub needs from the seat table of this instance. */
export interface HubSeats {
  get(sid: string): HubSeat | undefined;
  /** Registers a seat minted elsewhere. */
  add(row: SeatRow): void;
  /** Tears down a seat deleted elsewhere. */
  remove(sid: string): void;
  sids(): string[];
}

/** Options of {@link createClusterHub}. */
export interface ClusterHubOptions {
  sql: Sql;
  bus: Bus;
  instanceId: string;
  runs: PgRunStore;
  log: Logger;
  metrics: Metrics;
}

/** The outcome of {@link ClusterHub.open}: a pending request comes with its reply to come. */
export type OpenOutcome =
  | { state: "pending"; row: RequestRow; created: boolean; reply: Promise<ReplyFrame> }
  | { state: "settled"; row: RequestRow }
  | { state: "cancelled"; row: RequestRow };

/** Creates the hub; call `start(seats)` once the seats are loaded. */
export function createClusterHub(options: ClusterHubOptions) {
  const { sql, bus, instanceId, runs, log } = options;
  const pending = createPendingView();
  const waiters = createWaiters();
  let seats: HubSeats | undefined;
  /** Runs whose request rows are being dropped. */
  const ending = new Set<string>();
  const stops: Array<() => void> = [];

  const sync = createSeatSync({
    sql,
    instanceId,
    seats: () => seats,
    socketAway: (sid) => mine.socketLeft(sid),
    seatGone: (sid) => waiters.rejectSeat(sid, new Error("operator session deleted")),
  });

  /** Applies what a request's row now says (undefined: the row is gone). */
  const apply = (row: RequestRow | undefined, reqId: string) => {
    if (!row) {
      const gone = pending.drop(reqId);
      if (gone) {
        seats?.get(gone.sid)?.cancelled(reqId, "run_ended");
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
    seats?.get(row.sid)?.requestEnded(row.req_id);
    if (row.state === "settled") {
      if (row.reply) waiters.resolve(row.req_id, row.reply);
      return;
    }
    const reason = row.cancel_reason ?? "run_ended";
    if (had) seats?.get(row.sid)?.cancelled(row.req_id, reason);
    waiters.reject(
      row.req_id,
      reason === "session_deleted"
        ? new Error("operator session deleted")
        : new Error(`operator request ${reason === "timeout" ? "timed out" : "cancelled"}`),
    );
  };

  const mine = createRunRequests({
    sql,
    instanceId,
    runs,
    log,
    pending,
    waiters,
    seat: (sid) => seats?.get(sid),
    socketHere: (sid) => sync.here(sid),
    apply,
  });

  /** Reads a request's row and applies it. */
  const onRequest = (reqId: string) => {
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
    if (row === undefined) return onRequest(reqId);
    if (from === instanceId) return;
    apply(row as RequestRow, reqId);
  };

  const onRunEnded = (runId: string) => {
    for (const row of pending.ofRun(runId)) apply(undefined, row.req_id);
  };

  /** Reads seats and pending rows again (after a listener reconnect, and at start). */
  const heal = async () => {
    await sync.syncAll();
    const now = await allPending(sql);
    // requests known here alone, or still being written, are not in the table yet
    const stillPending = new Set([...now.map((r) => r.req_id), ...mine.unwritten()]);
    for (const reqId of pending.reqIds()) if (!stillPending.has(reqId)) onRequest(reqId);
    for (const row of now) apply(row, row.req_id);
    for (const reqId of waiters.reqIds()) if (!stillPending.has(reqId)) onRequest(reqId);
  };

  /** The epoch this instance holds for a run of a request (undefined: a request of no run). */
  const epochFor = async (runId: string | undefined) => {
    if (runId === undefined) return undefined;
    // a run started here may still have its row queued (write-behind): the fence reads it
    await runs.stored(runId);
    const epoch = runs.epochOf(runId);
    if (epoch === undefined) throw new FencedError(runId);
    return epoch;
  };

  return {
    instanceId,

    /** Subscribes to the bus and reads the tables once. */
    async start(table: HubSeats): Promise<void> {
      seats = table;
      stops.push(
        bus.on(REQUEST_TOPICS.opened, onRequestNote),
        bus.on(REQUEST_TOPICS.settled, onRequestNote),
        bus.on(REQUEST_TOPICS.ended, onRequestNote),
        bus.on(SEAT_TOPICS.changed, (sid) => void sync.read(sid).catch(() => {})),
        bus.on(SEAT_TOPICS.socket, (sid) => void sync.read(sid).catch(() => {})),
        bus.on(RUN_ENDED_TOPIC, onRunEnded),
        bus.onHeal(() => {
          log.warn("cluster bus reconnected: reading the tables again");
          heal().catch((err) => log.error("cluster heal failed", { error: String(err) }));
        }),
      );
      await heal();
    },

    stop(): void {
      // waiters stay: their runs stop with the process, and another instance resumes them
      for (const stop of stops.splice(0)) stop();
      mine.stop();
    },

    /** Loads one seat now (an operator named a sid this instance has not heard of yet). */
    loadSeat: (sid: string) => sync.read(sid),

    /** Reads every seat again. */
    syncSeats: () => sync.syncAll(),

    /**
     * Opens a request of a run owned here (or of no run), or finds the one its
     * run already opened for this attempt (a claimed run asking again).
     */
    async open(row: Omit<RequestRow, "state">): Promise<OpenOutcome> {
      const fresh = mine.open(row);
      if (fresh) return fresh;
      // an attempt of a run started here asked twice: its first row answers once written
      if (row.run_id !== undefined && runs.startedHere(row.run_id)) await runs.flushed();
      const epoch = await epochFor(row.run_id);
      const outcome = await openRequest(sql, row, epoch === undefined ? undefined : { epoch });
      if (outcome.state !== "pending") return outcome;
      const reply = waiters.add(outcome.row);
      pending.keep(outcome.row);
      seats?.get(outcome.row.sid)?.delivered(outcome.row);
      if (outcome.created) await bus.publish(REQUEST_TOPICS.opened, outcome.row.req_id);
      else onRequest(outcome.row.req_id); // a reply may have landed before the waiter
      return { ...outcome, reply };
    },

    /** Cancels a request of a run owned here; false when it was no longer pending. */
    async cancel(row: RequestRow, reason: CancelReason): Promise<boolean> {
      waiters.forget(row.req_id);
      if (mine.cancel(row, reason)) return true;
      await mine.stored(row.req_id);
      const after: RequestRow = { ...row, state: "cancelled", cancel_reason: reason };
      const note = busNote(REQUEST_TOPICS.ended, row.req_id, instanceId, after);
      const done = await epochFor(row.run_id).then((epoch) =>
        cancelRequest(
          sql,
          row.req_id,
          reason,
          epoch === undefined ? undefined : { runId: row.run_id!, epoch },
          note,
        )
      ).catch(() => undefined);
      if (!done) return false;
      apply(done, row.req_id);
      return true;
    },

    /** Sends a hook_after through the socket holder; false when no socket is live anywhere. */
    async after(row: Omit<RequestRow, "state">): Promise<boolean> {
      const holder = sync.socketOf(row.sid)?.instance;
      if (!holder) return false;
      const pendingRow: RequestRow = { ...row, state: "pending" };
      if (holder === instanceId) {
        seats?.get(row.sid)?.delivered(pendingRow); // the socket is here: no row needed
        return true;
      }
      const note = busNote(REQUEST_TOPICS.opened, row.req_id, instanceId, pendingRow);
      await insertHookAfter(sql, row, note);
      return true;
    },

    /**
     * Settles a request with a reply that reached this instance, once
     * cluster-wide. Returns the row, or undefined when it was unknown or settled.
     */
    async settle(known: RequestRow, reply: ReplyFrame): Promise<RequestRow | undefined> {
      const reqId = known.req_id;
      const row = await (mine.settle(known, reply) ?? settleRequest(
        sql,
        reqId,
        reply,
        instanceId,
        busNote(REQUEST_TOPICS.settled, reqId, instanceId, {
          ...known,
          state: "settled",
          reply,
          settled_by: instanceId,
        }),
      ));
      if (row) apply(row, reqId);
      return row;
    },

    /** A pending row as this instance knows it, else as stored. */
    async find(reqId: string): Promise<RequestRow | undefined> {
      return pending.get(reqId) ?? await getRequest(sql, reqId);
    },

    /** The pending rows of a seat, in the order first sent. */
    pendingOf: (sid: string): RequestRow[] => pending.of(sid),

    /** A pending row as this instance knows it. */
    pendingRow: (reqId: string): RequestRow | undefined => pending.get(reqId),

    /**
     * Waits again for the reply of a pending request of a run owned here that
     * nothing here waits on (a nested ask made before a takeover).
     */
    follow(row: RequestRow): Promise<ReplyFrame> {
      const reply = waiters.add(row);
      // it may have ended before the waiter; a row gone with its run ends the wait too
      getRequest(sql, row.req_id).then((now) => {
        if (now) apply(now, row.req_id);
        else waiters.reject(row.req_id, new Error("operator request cancelled"));
      }).catch((err) => waiters.reject(row.req_id, err));
      return reply;
    },

    /** The seat's socket holder as last read. */
    socketOf: (sid: string) => sync.socketOf(sid),

    /** Notes the socket holder this instance just wrote. */
    socketWritten: (sid: string, instance: string | null, epoch: number) =>
      sync.written(sid, instance, epoch),

    /** Loads the pending requests of `runIds` (before resuming claimed runs). */
    async preload(runIds: string[]): Promise<void> {
      for (const row of await requestsOfRuns(sql, runIds)) {
        if (row.state === "pending") pending.keep(row);
      }
    },

    /** Forgets what it knows of a run that ended here, and drops its request rows. */
    forgetRun(runId: string): void {
      mine.forgetRun(runId);
      if (ending.has(runId)) return;
      ending.add(runId);
      // the run's final record is written behind: delete once it is stored as ended
      runs.flushed()
        .then(() => deleteRunRequests(sql, runId, busNote(RUN_ENDED_TOPIC, runId, instanceId)))
        .catch((err) =>
          log.error("dropping run requests failed", { run_id: runId, error: String(err) })
        )
        .finally(() => ending.delete(runId));
    },

    /** Publishes that this instance now holds (or released) a seat's socket. */
    announceSocket(sid: string): Promise<void> {
      // released: what only this instance knew must be in the table for the next holder
      if (!sync.here(sid) || !seats?.get(sid)?.holdsSocket) mine.socketLeft(sid);
      return bus.publish(SEAT_TOPICS.socket, sid);
    },
  };
}

/** The hub's type. */
export type ClusterHub = ReturnType<typeof createClusterHub>;
