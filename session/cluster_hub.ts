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
import type { Json } from "../protocol/json.ts";
import type { Bus } from "../store/pg_bus.ts";
import {
  allPending,
  cancelRequest,
  dedupeKey,
  deleteRequest,
  deleteRunRequests,
  getRequest,
  insertHookAfter,
  openRequest,
  openRunRequest,
  REQUEST_TOPICS,
  type RequestRow,
  requestsOfRuns,
  settleRequest,
  settleUnstored,
} from "../store/pg_requests.ts";
import { busNote } from "../store/pg_bus.ts";
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

interface Waiter {
  sid: string;
  resolve(reply: ReplyFrame): void;
  reject(err: unknown): void;
}

/** The outcome of {@link ClusterHub.open}: a pending request comes with its reply to come. */
export type OpenOutcome =
  | { state: "pending"; row: RequestRow; created: boolean; reply: Promise<ReplyFrame> }
  | { state: "settled"; row: RequestRow }
  | { state: "cancelled"; row: RequestRow };

/** How many ended req_ids the hub remembers (a late note of one is stale). */
const ENDED_MEMORY = 4096;

/**
 * How long a request sent on a socket held here, by a run started here, stays
 * known to this instance alone before its row is written (a reply before then
 * settles it here, with no database round trip on the way).
 */
const LOCAL_GRACE_MS = 100;

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
  /** Requests of runs started here, by req_id, with their dedupe key, until their row is stored. */
  const storing = new Map<string, { stored: Promise<unknown>; key: string }>();
  /**
   * Requests of runs started here, sent on a socket held here and not written
   * yet: no other instance knows their req_id, so this one arbitrates their
   * reply alone. Written after {@link LOCAL_GRACE_MS}, or at once when the
   * seat's socket leaves this instance.
   */
  const local = new Map<
    string,
    { row: RequestRow & { run_id: string }; key: string; timer: ReturnType<typeof setTimeout> }
  >();
  /** Dedupe keys of the requests opened by runs started here, by run. */
  const opened = new Map<string, Set<string>>();
  /** req_ids ended lately (settled, cancelled, dropped): a late note saying pending is stale. */
  const ended = new Set<string>();
  const remember = (reqId: string) => {
    ended.add(reqId);
    if (ended.size > ENDED_MEMORY) ended.delete(ended.values().next().value!);
  };

  const keep = (row: RequestRow) => {
    let bySid = pending.get(row.sid);
    if (!bySid) pending.set(row.sid, bySid = new Map());
    const fresh = !bySid.has(row.req_id);
    bySid.set(row.req_id, row);
    sidOf.set(row.req_id, row.sid);
    return fresh;
  };

  const drop = (reqId: string): RequestRow | undefined => {
    remember(reqId);
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
      if (ended.has(row.req_id)) return; // a stale note: the request ended since
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

  /** Registers the waiter of a pending request; its reply (or its end) settles the promise. */
  const awaitReply = (row: RequestRow): Promise<ReplyFrame> => {
    const { promise, resolve, reject } = Promise.withResolvers<ReplyFrame>();
    waiters.set(row.req_id, { sid: row.sid, resolve, reject });
    promise.catch(() => {}); // its opener may have stopped listening (an aborted wait)
    return promise;
  };

  /** The columns of a request row a batch inserts, but its state. */
  const toInsert = (row: RequestRow & { run_id: string }, key: string) => ({
    req_id: row.req_id,
    sid: row.sid,
    run_id: row.run_id,
    dedupe: key,
    kind: row.kind,
    task_id: row.task_id,
    attempt: row.attempt,
    frame: row.frame as unknown as Json,
    sent_at: row.sent_at,
  });

  /**
   * Writes the row of a request of a run started here, at once and announced
   * with its row (store/pg_requests.ts `openRunRequest`).
   */
  const store = (row: RequestRow & { run_id: string }, key: string) => {
    const lost = (err: unknown) => {
      // not stored (the run was taken over, or the write failed): the request never was
      const waiter = waiters.get(row.req_id);
      waiters.delete(row.req_id);
      waiter?.reject(err);
      if (drop(row.req_id)) seats?.get(row.sid)?.cancelled(row.req_id, "run_ended");
    };
    const epoch = runs.epochOf(row.run_id);
    if (epoch === undefined) return lost(new FencedError(row.run_id));
    const note = busNote(REQUEST_TOPICS.opened, row.req_id, instanceId, row);
    const stored = openRunRequest(sql, row, key, { owner: instanceId, epoch }, note);
    storing.set(row.req_id, { stored, key });
    stored.then(
      async (created) => {
        storing.delete(row.req_id);
        if (created) return;
        // a settle stored the row first (the row says how it ended), or the run is lost
        const now = await getRequest(sql, row.req_id);
        if (now) apply(now, row.req_id);
        else lost(new FencedError(row.run_id));
      },
      (err) => {
        storing.delete(row.req_id);
        lost(err);
      },
    ).catch((err) => log.error("cluster request write failed", { error: String(err) }));
  };

  /** Writes the rows of a seat's requests known here alone (its socket is leaving). */
  const publishLocal = (sid: string) => {
    for (const [reqId, l] of local) {
      if (l.row.sid !== sid) continue;
      local.delete(reqId);
      clearTimeout(l.timer);
      if (waiters.has(reqId)) store(l.row, l.key); // still awaited by its run
    }
  };

  /**
   * Opens a request of a run started here (`key` is new for it). With the
   * seat's socket here, it is sent at once and kept here alone for a while;
   * else its row goes with the run's next batch, and the bus carries it to the
   * socket's instance.
   */
  const openFresh = (row: RequestRow & { run_id: string }, key: string): OpenOutcome => {
    const reply = awaitReply(row);
    keep(row);
    const seat = seats?.get(row.sid);
    if (seat?.holdsSocket && sockets.get(row.sid)?.instance === instanceId) {
      const timer = setTimeout(() => {
        if (local.delete(row.req_id) && waiters.has(row.req_id)) store(row, key);
      }, LOCAL_GRACE_MS);
      Deno.unrefTimer(Number(timer)); // a number in Deno (TS may see Node's Timeout)
      local.set(row.req_id, { row, key, timer });
      seat.delivered(row);
    } else {
      store(row, key);
      seat?.delivered(row);
    }
    return { state: "pending", row, created: true, reply };
  };

  /** Waits for the row of a request opened by a run started here to be stored. */
  const whenStored = async (reqId: string) => {
    await storing.get(reqId)?.stored.catch(() => {});
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
    if (row.socket_instance !== instanceId) publishLocal(row.sid);
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
    // requests known here alone, or still queued, are not in the table yet
    const stillPending = new Set([...now.map((r) => r.req_id), ...local.keys(), ...storing.keys()]);
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
        bus.on(REQUEST_TOPICS.opened, onRequestNote),
        bus.on(REQUEST_TOPICS.settled, onRequestNote),
        bus.on(REQUEST_TOPICS.ended, onRequestNote),
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
      for (const l of local.values()) clearTimeout(l.timer);
    },

    /** Loads one seat now (an operator named a sid this instance has not heard of yet). */
    loadSeat: (sid: string) => onSeat(sid),

    /** Reads every seat again. */
    syncSeats,

    /**
     * Opens a request of a run owned here (or of no run), or finds the one its
     * run already opened for this attempt. A request of a run started here is
     * sent at once when this instance holds the seat's socket, and its row is
     * written with the run's next batch (the bus tells the socket's instance
     * otherwise, with the row); the settle waits for that row.
     */
    async open(row: Omit<RequestRow, "state">): Promise<OpenOutcome> {
      const runId = row.run_id;
      if (runId !== undefined && runs.startedHere(runId) && row.kind !== "ha") {
        const key = dedupeKey(runId, row.task_id, row.attempt, row.kind);
        let keys = opened.get(runId);
        if (!keys) opened.set(runId, keys = new Set());
        if (!keys.has(key)) {
          keys.add(key);
          return openFresh({ ...row, run_id: runId, state: "pending" }, key);
        }
        // the same attempt asked again: the stored row answers (below)
        await runs.flushed();
      }
      const epoch = await epochFor(runId);
      const outcome = await openRequest(sql, row, epoch === undefined ? undefined : { epoch });
      if (outcome.state !== "pending") return outcome;
      const reply = awaitReply(outcome.row);
      keep(outcome.row);
      seats?.get(outcome.row.sid)?.delivered(outcome.row);
      if (outcome.created) await bus.publish(REQUEST_TOPICS.opened, outcome.row.req_id);
      else onRequest(outcome.row.req_id); // a reply may have landed before the waiter
      return { ...outcome, reply };
    },

    /** Cancels a request of a run owned here; false when it was no longer pending. */
    async cancel(row: RequestRow, reason: CancelReason): Promise<boolean> {
      waiters.delete(row.req_id);
      const mine = local.get(row.req_id);
      if (mine) {
        local.delete(row.req_id); // never written: nothing to write
        clearTimeout(mine.timer);
        apply({ ...row, state: "cancelled", cancel_reason: reason }, row.req_id);
        return true;
      }
      await whenStored(row.req_id);
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
      const holder = sockets.get(row.sid)?.instance;
      if (!holder) return false;
      const pendingRow: RequestRow = { ...row, state: "pending" };
      if (holder === instanceId) {
        seats?.get(row.sid)?.delivered(pendingRow); // the socket is here: no row needed
        return true;
      }
      await insertHookAfter(
        sql,
        row,
        busNote(REQUEST_TOPICS.opened, row.req_id, instanceId, pendingRow),
      );
      return true;
    },

    /**
     * Settles a request with a reply that reached this instance, once
     * cluster-wide. Returns the row, or undefined when it was unknown or settled.
     */
    async settle(known: RequestRow, reply: ReplyFrame): Promise<RequestRow | undefined> {
      const reqId = known.req_id;
      const after: RequestRow = { ...known, state: "settled", reply, settled_by: instanceId };
      const mine = local.get(reqId);
      if (mine) {
        // known here alone: settled here, its row written behind with the run's
        // (a takeover finds the reply by its dedupe key)
        local.delete(reqId);
        clearTimeout(mine.timer);
        runs.queueRequest({
          ...toInsert(mine.row, mine.key),
          state: "settled",
          reply: reply as unknown as Json,
          settled_by: instanceId,
          note: null,
        }).catch(() => {}); // a lost run: its new owner asks again
        apply(after, reqId);
        return after;
      }
      const note = busNote(REQUEST_TOPICS.settled, reqId, instanceId, after);
      // a request of a run started here may still be queued: no need to wait for it
      const queued = storing.get(reqId);
      const { state: _, ...fields } = known;
      const row = queued
        ? await settleUnstored(sql, fields, queued.key, reply, instanceId, note).catch((err) => {
          // the queued insert landed meanwhile (its dedupe key ran into ours): settle that row
          if ((err as { code?: string }).code !== "23505") throw err;
          return settleRequest(sql, reqId, reply, instanceId, note);
        })
        : await settleRequest(sql, reqId, reply, instanceId, note);
      if (!row) return undefined;
      apply(row, reqId);
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
      opened.delete(runId);
      for (const [reqId, l] of local) {
        if (l.row.run_id !== runId) continue;
        local.delete(reqId);
        clearTimeout(l.timer);
      }
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
      if (sockets.get(sid)?.instance !== instanceId || !seats?.get(sid)?.holdsSocket) {
        publishLocal(sid);
      }
      return bus.publish(SEAT_TOPICS.socket, sid);
    },
  };
}

/** The hub's type. */
export type ClusterHub = ReturnType<typeof createClusterHub>;
