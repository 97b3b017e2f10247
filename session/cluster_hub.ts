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
 * - hears of rows changed elsewhere, and heals after its listener reconnects by
 *   reading the tables again (session/cluster_hub_notes.ts).
 *
 * @module
 */
import type { Logger } from "../observe/log.ts";
import type { Metrics } from "../observe/metrics.ts";
import type { CancelReason, ReplyFrame } from "../protocol/frames.ts";
import type { Bus } from "../store/pg_bus.ts";
import {
  deleteRunRequests,
  getRequest,
  insertHookAfter,
  REQUEST_TOPICS,
  type RequestRow,
  requestsOfRuns,
} from "../store/pg_requests.ts";
import { busNote } from "../store/pg_bus.ts";
import { SEAT_TOPICS } from "../store/pg_seats.ts";
import type { Sql } from "../store/pg_sql.ts";
import type { PgRunStore } from "../store/run_store_pg.ts";
import { RUN_ENDED_TOPIC } from "../store/seat_store_pg.ts";
import {
  createPendingView,
  createWaiters,
  RequestCancelled,
  type SettledRow,
} from "./cluster_pending.ts";
import { createRunRequests } from "./cluster_run_requests.ts";
import { createSeatSync } from "./cluster_seat_sync.ts";
import { createHubNotes } from "./cluster_hub_notes.ts";
import { createTableRequests } from "./cluster_table_requests.ts";
import type { HubSeats } from "./hub_seat.ts";

/** Options of {@link createClusterHub}. */
export interface ClusterHubOptions {
  sql: Sql;
  bus: Bus;
  instanceId: string;
  runs: PgRunStore;
  log: Logger;
  metrics: Metrics;
  /** How long a request of a run started here stays known here alone (cluster_run_requests.ts). */
  localGraceMs?: number;
}

/** The outcome of {@link ClusterHub.open}: a pending request comes with its settling to come. */
export type OpenOutcome =
  | { state: "pending"; row: RequestRow; created: boolean; settled: Promise<SettledRow> }
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
  /**
   * Runs owned here that sent a request, until forgotten: at its end, a run whose
   * requests all ended early (its seat deleted, a sibling branch failed) is no seat's.
   */
  const asking = new Set<string>();
  /**
   * Cancels being written, by run: the rows of a run that ended are deleted
   * after them, so the seat's instance hears why each request ended (`timeout`)
   * before it hears that the run did.
   */
  const cancelling = new Map<string, Set<Promise<unknown>>>();
  const stops: Array<() => void> = [];

  const sync = createSeatSync({
    sql,
    instanceId,
    seats: () => seats,
    socketAway: (sid) => mine.socketLeft(sid),
    seatGone: (sid) =>
      waiters.rejectSeat(sid, new RequestCancelled("session_deleted", sync.expired(sid))),
  });

  const notes = createHubNotes({
    sql,
    bus,
    instanceId,
    log,
    pending,
    waiters,
    sync,
    seats: () => seats,
    unwritten: () => mine.unwritten(),
  });
  const { apply } = notes;

  /** A pending row as this instance knows it, else as stored. */
  const find = async (reqId: string): Promise<RequestRow | undefined> =>
    pending.get(reqId) ?? await getRequest(sql, reqId);

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
    graceMs: options.localGraceMs,
  });

  const table = createTableRequests({
    sql,
    bus,
    instanceId,
    runs,
    pending,
    waiters,
    seat: (sid) => seats?.get(sid),
    apply,
    read: notes.read,
  });

  return {
    instanceId,

    /** Subscribes to the bus and reads the tables once. */
    async start(seatTable: HubSeats): Promise<void> {
      seats = seatTable;
      stops.push(...notes.listen());
      await notes.heal();
    },

    stop(): void {
      // waiters stay: their runs stop with the process, and another instance resumes them
      for (const stop of stops.splice(0)) stop();
      mine.stop();
      asking.clear();
    },

    /** Loads one seat now (an operator named a sid this instance has not heard of yet). */
    loadSeat: (sid: string) => sync.read(sid),

    /** Reads every seat again. */
    syncSeats: () => sync.syncAll(),

    /**
     * Opens a request of a run owned here (or of no run), or finds the one its
     * run already opened for this attempt (a claimed run asking again).
     */
    open(row: Omit<RequestRow, "state">): Promise<OpenOutcome> {
      if (row.run_id !== undefined) asking.add(row.run_id);
      return Promise.resolve(mine.open(row) ?? table.open(row));
    },

    /** Cancels a request of a run owned here; false when it was no longer pending. */
    cancel(row: RequestRow, reason: CancelReason): Promise<boolean> {
      waiters.forget(row.req_id);
      if (mine.cancel(row, reason)) return Promise.resolve(true);
      const done = (async () => {
        if (await mine.stored(row.req_id) === "skipped") {
          // its run ended in the batch that was to write it: it ends here
          apply({ ...row, state: "cancelled", cancel_reason: reason }, row.req_id);
          return true;
        }
        return await table.cancel(row, reason);
      })();
      const runId = row.run_id;
      if (runId === undefined) return done;
      let set = cancelling.get(runId);
      if (!set) cancelling.set(runId, set = new Set());
      set.add(done);
      const drop = () => {
        set.delete(done);
        if (set.size === 0 && cancelling.get(runId) === set) cancelling.delete(runId);
      };
      done.then(drop, drop);
      return done;
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
      if (row.run_id !== undefined) {
        runs.noteRequestRow(row.run_id);
        asking.add(row.run_id);
      }
      await insertHookAfter(sql, row, note);
      return true;
    },

    /**
     * Settles a request with a reply that reached this instance, once
     * cluster-wide. Returns the row, or undefined when it was unknown or settled.
     */
    async settle(known: RequestRow, reply: ReplyFrame): Promise<RequestRow | undefined> {
      const reqId = known.req_id;
      const row = await (mine.settle(known, reply) ?? table.settle(known, reply));
      if (row) apply(row, reqId);
      return row;
    },

    /** A pending row as this instance knows it, else as stored. */
    find,

    /**
     * {@link find}, for a request this instance may not have read yet: one
     * known to its run's instance alone until the seat's socket left it there
     * (a reply held through the reconnect may come before its row). Waits up to
     * `ms` for it, unless it is known to have ended.
     */
    async findSoon(reqId: string, ms = ROW_WAIT_MS): Promise<RequestRow | undefined> {
      const until = Date.now() + ms;
      while (true) {
        const row = await find(reqId);
        if (row || pending.ended(reqId) || Date.now() >= until) return row;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },

    /** The pending rows of a seat, in the order first sent. */
    pendingOf: (sid: string): RequestRow[] => pending.of(sid),

    /** A pending row as this instance knows it. */
    pendingRow: (reqId: string): RequestRow | undefined => pending.get(reqId),

    /**
     * Waits again for the reply of a pending request of a run owned here that
     * nothing here waits on (a nested ask made before a takeover).
     */
    follow: (row: RequestRow): Promise<SettledRow> => table.follow(row),

    /** The seat's socket holder as last read. */
    socketOf: (sid: string) => sync.socketOf(sid),

    /** A seat of this instance was deleted (here or elsewhere): it is never read back. */
    seatDeleted: (sid: string, byIdleSweep?: boolean) => sync.deleted(sid, byIdleSweep),

    /** Notes the socket holder this instance just wrote. */
    socketWritten: (sid: string, instance: string | null, epoch: number) =>
      sync.written(sid, instance, epoch),

    /** Loads the pending requests of `runIds` (before resuming claimed runs). */
    async preload(runIds: string[]): Promise<void> {
      for (const row of await requestsOfRuns(sql, runIds)) {
        if (row.state === "pending") pending.keep(row);
      }
    },

    /** A run ended here: forgets it (below) unless a seat did, if it sent a request. */
    runEnded(runId: string): void {
      if (asking.has(runId)) this.forgetRun(runId);
    },

    /** A run lost to a takeover: no end here will forget it (its new owner drops its rows). */
    runLost(runId: string): void {
      asking.delete(runId);
    },

    /** Forgets what it knows of a run that ended here, and drops its request rows. */
    forgetRun(runId: string): void {
      asking.delete(runId);
      const startedHere = mine.forgetRun(runId);
      if (ending.has(runId)) return;
      ending.add(runId);
      // the run's final record is written behind: delete once it is stored as
      // ended, and once the cancels of its requests are
      Promise.all([runs.flushed(), ...cancelling.get(runId) ?? []].map((p) => p.catch(() => {})))
        .then(() => {
          if (startedHere && !runs.hasRequestRows(runId)) {
            // none of its requests reached the table (the batch that ended it left
            // them out): no other instance knows of them, nothing to delete
            notes.runEnded(runId);
            return;
          }
          runs.forgetRequestRows(runId);
          return deleteRunRequests(sql, runId, busNote(RUN_ENDED_TOPIC, runId, instanceId));
        })
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

/** How long a reply waits for the row of a request not read here yet (hub.findSoon). */
const ROW_WAIT_MS = 2_000;

/** The hub's type. */
export type ClusterHub = ReturnType<typeof createClusterHub>;
