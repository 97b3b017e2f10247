/**
 * The cluster side of operator seats, one per instance. Request rows are the
 * truth; the bus says which row changed. The hub:
 *
 * - opens requests for the runs this instance owns (fenced by the run's epoch),
 *   and wakes their waiters when a reply or a cancel lands, wherever it landed;
 * - keeps a view of every pending request of the cluster, so the instance that
 *   holds a seat's socket delivers new requests, replays them on reconnect and
 *   checks replies, and any instance can list them;
 * - keeps every seat registered on every instance (mint and delete anywhere);
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
  type Opened,
  openRequest,
  REQUEST_TOPICS,
  type RequestRow,
  requestsOfRuns,
  settleRequest,
} from "../store/pg_requests.ts";
import { FencedError } from "../store/pg_run_owner.ts";
import { getSeat, listSeatRows, SEAT_TOPICS, type SeatRow } from "../store/pg_seats.ts";
import type { Sql } from "../store/pg_sql.ts";
import type { PgRunStore } from "../store/run_store_pg.ts";
import { RUN_ENDED_TOPIC } from "../store/seat_store_pg.ts";

/** What the hub tells the seat objects of this instance. */
export interface HubSeat {
  readonly sid: string;
  /** The seat's last activity seen here (the idle sweep reads it). */
  lastSeenAt: number;
  /** A pending request of this seat appeared (deliver it if the socket is here). */
  delivered(row: RequestRow): void;
  /** A request of this seat ended without a reply (cancel it on the socket here). */
  cancelled(reqId: string, reason: CancelReason): void;
  /** The seat's socket moved to `instance` at `epoch` (close an older one here). */
  socketMoved(instance: string | null, epoch: number): void;
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

interface Waiter {
  sid: string;
  resolve(reply: ReplyFrame): void;
  reject(err: unknown): void;
}

/** The outcome of {@link ClusterHub.open}. */
export type OpenOutcome =
  | { state: "pending"; row: RequestRow; created: boolean }
  | { state: "settled"; row: RequestRow }
  | { state: "cancelled"; row: RequestRow };

/** Creates the hub; call `start(seats)` once the seats are loaded. */
export function createClusterHub(options: ClusterHubOptions) {
  const { sql, bus, instanceId, runs, log } = options;
  /** Pending rows of the whole cluster, by sid, in the order seen. */
  const pending = new Map<string, Map<string, RequestRow>>();
  /** req_id → sid, for the rows in `pending`. */
  const sidOf = new Map<string, string>();
  /** Waiters of requests opened by runs of this instance. */
  const waiters = new Map<string, Waiter>();
  /** Socket holder of each seat, as last read. */
  const sockets = new Map<string, { instance: string | null; epoch: number }>();
  /** `run|task|attempt` of requests (any state) of runs this instance claimed. */
  const attempts = new Set<string>();
  let seats: HubSeats | undefined;
  /** Runs whose request rows are being dropped. */
  const ending = new Set<string>();
  const stops: Array<() => void> = [];

  const keep = (row: RequestRow) => {
    let bySid = pending.get(row.sid);
    if (!bySid) pending.set(row.sid, bySid = new Map());
    const fresh = !bySid.has(row.req_id);
    bySid.set(row.req_id, row);
    sidOf.set(row.req_id, row.sid);
    return fresh;
  };

  const drop = (reqId: string): RequestRow | undefined => {
    const sid = sidOf.get(reqId);
    if (sid === undefined) return undefined;
    sidOf.delete(reqId);
    const bySid = pending.get(sid);
    const row = bySid?.get(reqId);
    bySid?.delete(reqId);
    if (bySid?.size === 0) pending.delete(sid);
    return row;
  };

  /** Applies what a row now says. */
  const apply = (row: RequestRow | undefined, reqId: string) => {
    if (!row) {
      const gone = drop(reqId);
      if (gone) seats?.get(gone.sid)?.cancelled(reqId, "run_ended");
      return;
    }
    if (row.kind === "ha") {
      // a hook_after: the socket holder sends it once and deletes the row
      const holder = sockets.get(row.sid);
      if (holder?.instance === instanceId) {
        seats?.get(row.sid)?.delivered(row);
        deleteRequest(sql, row.req_id).catch(() => {});
      }
      return;
    }
    if (row.state === "pending") {
      keep(row);
      seats?.get(row.sid)?.delivered(row); // the seat sends each req_id once per socket
      return;
    }
    const had = drop(row.req_id);
    const waiter = waiters.get(row.req_id);
    if (row.state === "settled") {
      if (waiter && row.reply) {
        waiters.delete(row.req_id);
        waiter.resolve(row.reply);
      }
      return;
    }
    const reason = row.cancel_reason ?? "run_ended";
    if (had) seats?.get(row.sid)?.cancelled(row.req_id, reason);
    if (waiter) {
      waiters.delete(row.req_id);
      waiter.reject(
        reason === "session_deleted"
          ? new Error("operator session deleted")
          : new Error(`operator request ${reason === "timeout" ? "timed out" : "cancelled"}`),
      );
    }
  };

  const onRequest = (reqId: string) => {
    getRequest(sql, reqId).then((row) => apply(row, reqId)).catch((err) =>
      log.error("cluster request read failed", { req_id: reqId, error: String(err) })
    );
  };

  const onSeat = async (sid: string) => {
    const row = await getSeat(sql, sid);
    if (!row) {
      sockets.delete(sid);
      seats?.remove(sid);
      for (const [reqId, w] of waiters) {
        if (w.sid !== sid) continue;
        waiters.delete(reqId);
        w.reject(new Error("operator session deleted"));
      }
      return;
    }
    if (!seats?.get(sid)) seats?.add(row);
    socketRead(row);
  };

  const socketRead = (row: SeatRow) => {
    const known = sockets.get(row.sid);
    if (known && known.epoch > row.socket_epoch) return;
    sockets.set(row.sid, { instance: row.socket_instance, epoch: row.socket_epoch });
    const seat = seats?.get(row.sid);
    if (!seat) return;
    // activity seen by another instance counts here too (the idle sweep runs everywhere)
    if (row.last_seen_at > seat.lastSeenAt) seat.lastSeenAt = row.last_seen_at;
    seat.socketMoved(row.socket_instance, row.socket_epoch);
  };

  const onRunEnded = (runId: string) => {
    for (const bySid of [...pending.values()]) {
      for (const row of [...bySid.values()]) {
        if (row.run_id === runId) apply(undefined, row.req_id);
      }
    }
  };

  /** Reads every seat row again: seats gone elsewhere end here, new ones are added. */
  const syncSeats = async (): Promise<void> => {
    const rows = await listSeatRows(sql);
    const live = new Set(rows.map((r) => r.sid));
    for (const sid of seats?.sids() ?? []) if (!live.has(sid)) await onSeat(sid);
    for (const row of rows) {
      if (!seats?.get(row.sid)) seats?.add(row);
      socketRead(row);
    }
  };

  /** Reads seats and pending rows again (after a listener reconnect, and at start). */
  const heal = async () => {
    await syncSeats();
    const now = await allPending(sql);
    const stillPending = new Set(now.map((r) => r.req_id));
    for (const reqId of [...sidOf.keys()]) if (!stillPending.has(reqId)) onRequest(reqId);
    for (const row of now) apply(row, row.req_id);
    for (const reqId of [...waiters.keys()]) if (!stillPending.has(reqId)) onRequest(reqId);
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
        bus.on(REQUEST_TOPICS.opened, onRequest),
        bus.on(REQUEST_TOPICS.settled, onRequest),
        bus.on(REQUEST_TOPICS.ended, onRequest),
        bus.on(SEAT_TOPICS.changed, (sid) => void onSeat(sid).catch(() => {})),
        bus.on(SEAT_TOPICS.socket, (sid) => void onSeat(sid).catch(() => {})),
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
    },

    /** Loads one seat now (an operator named a sid this instance has not heard of yet). */
    loadSeat: (sid: string) => onSeat(sid),

    /** Reads every seat again. */
    syncSeats,

    /**
     * Opens a request of a run owned here (or of no run), or finds the one its
     * run already opened for this attempt.
     */
    async open(row: Omit<RequestRow, "state">): Promise<OpenOutcome> {
      const epoch = await epochFor(row.run_id);
      const opened: Opened = await openRequest(
        sql,
        row,
        epoch === undefined ? undefined : { epoch },
      );
      if (opened.state === "pending") {
        keep(opened.row);
        seats?.get(opened.row.sid)?.delivered(opened.row);
        if (opened.created) await bus.publish(REQUEST_TOPICS.opened, opened.row.req_id);
      }
      return opened;
    },

    /** Waits for the reply of a pending request; rejects when it is cancelled. */
    wait(row: RequestRow): Promise<ReplyFrame> {
      const { promise, resolve, reject } = Promise.withResolvers<ReplyFrame>();
      waiters.set(row.req_id, { sid: row.sid, resolve, reject });
      // a reply may have landed between the open and now
      onRequest(row.req_id);
      return promise;
    },

    /** Cancels a request of a run owned here; false when it was no longer pending. */
    async cancel(row: RequestRow, reason: CancelReason): Promise<boolean> {
      waiters.delete(row.req_id);
      const done = await epochFor(row.run_id).then((epoch) =>
        cancelRequest(
          sql,
          row.req_id,
          reason,
          epoch === undefined ? undefined : { runId: row.run_id!, epoch },
        )
      ).catch(() => undefined);
      if (!done) return false;
      apply(done, row.req_id);
      await bus.publish(REQUEST_TOPICS.ended, row.req_id);
      return true;
    },

    /** Sends a hook_after through the socket holder; false when no socket is live anywhere. */
    async after(row: Omit<RequestRow, "state">): Promise<boolean> {
      if (!sockets.get(row.sid)?.instance) return false;
      await sql`INSERT INTO sb_requests
          (req_id, sid, run_id, kind, task_id, attempt, frame, sent_at, state)
        VALUES (${row.req_id}, ${row.sid}, ${row.run_id ?? null}, 'ha', ${row.task_id},
          ${row.attempt}, ${sql.json(row.frame)}, ${row.sent_at}, 'pending')`;
      await bus.publish(REQUEST_TOPICS.opened, row.req_id);
      return true;
    },

    /**
     * Settles a request with a reply that reached this instance, once
     * cluster-wide. Returns the row, or undefined when it was unknown or settled.
     */
    async settle(reqId: string, reply: ReplyFrame): Promise<RequestRow | undefined> {
      const row = await settleRequest(sql, reqId, reply, instanceId);
      if (!row) return undefined;
      apply(row, reqId);
      await bus.publish(REQUEST_TOPICS.settled, reqId);
      return row;
    },

    /** A pending row as this instance knows it, else as stored. */
    async find(reqId: string): Promise<RequestRow | undefined> {
      const sid = sidOf.get(reqId);
      return (sid === undefined ? undefined : pending.get(sid)?.get(reqId)) ??
        await getRequest(sql, reqId);
    },

    /** The pending rows of a seat, in the order first sent. */
    pendingOf(sid: string): RequestRow[] {
      return [...(pending.get(sid)?.values() ?? [])];
    },

    /** The seat's socket holder as last read. */
    socketOf(sid: string) {
      return sockets.get(sid);
    },

    /** Notes the socket holder this instance just wrote. */
    socketWritten(sid: string, instance: string | null, epoch: number) {
      const known = sockets.get(sid);
      if (!known || known.epoch <= epoch) sockets.set(sid, { instance, epoch });
    },

    /** Loads which attempts of `runIds` have requests (before resuming claimed runs). */
    async preload(runIds: string[]): Promise<void> {
      for (const row of await requestsOfRuns(sql, runIds)) {
        attempts.add(`${row.run_id}|${row.task_id}|${row.attempt}`);
        if (row.state === "pending") keep(row);
      }
    },

    /** True when a request exists for this attempt of a run (known here). */
    hasRequest(runId: string, taskId: string, attempt: number): boolean {
      if (attempts.has(`${runId}|${taskId}|${attempt}`)) return true;
      for (const bySid of pending.values()) {
        for (const row of bySid.values()) {
          if (row.run_id === runId && row.task_id === taskId && row.attempt === attempt) {
            return true;
          }
        }
      }
      return false;
    },

    /** Forgets what it knows of a run that ended here, and drops its request rows. */
    forgetRun(runId: string): void {
      for (const key of [...attempts]) if (key.startsWith(`${runId}|`)) attempts.delete(key);
      if (ending.has(runId)) return;
      ending.add(runId);
      // the run's final record is written behind: delete once it is stored as ended
      runs.flushed()
        .then(() => deleteRunRequests(sql, runId))
        .then((done) => done ? bus.publish(RUN_ENDED_TOPIC, runId) : undefined)
        .catch((err) =>
          log.error("dropping run requests failed", { run_id: runId, error: String(err) })
        )
        .finally(() => ending.delete(runId));
    },

    /** Publishes that this instance now holds (or released) a seat's socket. */
    announceSocket: (sid: string) => bus.publish(SEAT_TOPICS.socket, sid),
  };
}

/** The hub's type. */
export type ClusterHub = ReturnType<typeof createClusterHub>;
