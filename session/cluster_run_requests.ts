/**
 * Operator requests of the runs an instance started itself (not claimed ones),
 * written without holding the run up:
 *
 * - with the seat's socket on this instance, the frame goes out at once and
 *   the request stays known to this instance alone for {@link LOCAL_GRACE_MS}
 *   (`SWITCHBOARD_CLUSTER_GRACE_MS`):
 *   no other instance has seen its req_id, so this one settles a reply in
 *   memory and writes the settled row behind, with the run's writes. Past the
 *   grace, or when the socket leaves, its row is written (the next socket
 *   holder replays it);
 * - else its row goes with the run's next batch of writes (after its worker's
 *   token and its task, which the frame refers to), announced with the commit;
 *   a reply arriving before it landed settles by inserting the row settled.
 *
 * @module
 */
import type { CancelReason, ReplyFrame } from "../protocol/frames.ts";
import type { Json } from "../protocol/json.ts";
import type { Logger } from "../observe/log.ts";
import { busNote } from "../store/pg_bus.ts";
import {
  dedupeKey,
  endedNote,
  getRequest,
  REQUEST_TOPICS,
  type RequestRow,
  settleRequest,
  settleUnstored,
} from "../store/pg_requests.ts";
import type { Sql } from "../store/pg_sql.ts";
import { unrefTimer } from "../engine/long_timeout.ts";
import type { PgRunStore } from "../store/run_store_pg.ts";
import type { OpenOutcome } from "./cluster_hub.ts";
import type { HubSeat } from "./hub_seat.ts";
import type { PendingView, Waiters } from "./cluster_pending.ts";

/**
 * How long a request sent on a socket held here, by a run started here, stays
 * known to this instance alone before its row is written.
 */
export const LOCAL_GRACE_MS = 100;

/** A request of a run started here, with the run's id and the request's dedupe key. */
type Row = RequestRow & { run_id: string };

/** What {@link createRunRequests} works with. */
export interface RunRequestsOptions {
  sql: Sql;
  instanceId: string;
  runs: PgRunStore;
  log: Logger;
  pending: PendingView;
  waiters: Waiters;
  seat(sid: string): HubSeat | undefined;
  /** True when this instance holds the seat's socket. */
  socketHere(sid: string): boolean;
  /** Applies what a request's row now says (the hub's `apply`). */
  apply(row: RequestRow | undefined, reqId: string): void;
  /** How long a request stays known here alone (default {@link LOCAL_GRACE_MS}). */
  graceMs?: number;
}

/** The requests of the runs this instance started. */
export function createRunRequests(options: RunRequestsOptions) {
  const { sql, instanceId, runs, pending, waiters, graceMs = LOCAL_GRACE_MS } = options;
  /** Dedupe keys of the requests opened so far, by run. */
  const opened = new Map<string, Set<string>>();
  /** Requests known here alone, by req_id. */
  const local = new Map<string, { row: Row; key: string; timer: ReturnType<typeof setTimeout> }>();
  /** Requests whose row is being written, by req_id, with their dedupe key. */
  const storing = new Map<
    string,
    { stored: Promise<"stored" | "taken" | "skipped">; key: string }
  >();

  /** The columns of a request row, but its state. */
  const columns = (row: Row, key: string) => ({
    req_id: row.req_id,
    sid: row.sid,
    run_id: row.run_id,
    dedupe: key,
    kind: row.kind,
    task_id: row.task_id,
    attempt: row.attempt,
    frame: row.frame as unknown as Json,
    sent_at: row.sent_at,
    role: row.role ?? null,
    deadline_at: row.deadline_at ?? null,
  });

  /** Not stored (the run was taken over, or the write failed): the request never was. */
  const lost = (row: Row, err: unknown) => {
    waiters.reject(row.req_id, err);
    if (pending.drop(row.req_id)) options.seat(row.sid)?.cancelled(row.req_id, "run_ended");
  };

  /**
   * Writes a request's row with its run's writes, announced with the row: in
   * the same statement as the writes queued before it (its worker's token, its
   * task) or after them, so a takeover finds everything the frame refers to.
   */
  const store = (row: Row, key: string) => {
    const note = busNote(REQUEST_TOPICS.opened, row.req_id, instanceId, row);
    const stored = runs.queueRequest({ ...columns(row, key), state: "pending", note });
    storing.set(row.req_id, { stored, key });
    stored.then(
      async (outcome) => {
        storing.delete(row.req_id);
        // skipped: its run ended in the same batch (its cancel and its end say so)
        if (outcome !== "taken") return;
        // a settle stored the row first: the row says how it ended
        options.apply(await getRequest(sql, row.req_id), row.req_id);
      },
      (err) => {
        storing.delete(row.req_id);
        lost(row, err);
      },
    ).catch((err) => options.log.error("cluster request write failed", { error: String(err) }));
  };

  /**
   * Ends a request's time as known here alone. With `write`, its row is written
   * if its run still waits for it, else it is forgotten (nobody will settle it).
   */
  const unlocal = (reqId: string, write: boolean) => {
    const mine = local.get(reqId);
    if (!mine) return undefined;
    local.delete(reqId);
    clearTimeout(mine.timer);
    if (write && waiters.has(reqId)) store(mine.row, mine.key);
    else if (write) pending.drop(reqId);
    return mine;
  };

  return {
    /**
     * Opens a request of a run started here, or returns undefined when it is
     * not one (a claimed run, no run, a hook_after, or an attempt asked twice:
     * the stored row answers those).
     */
    open(request: Omit<RequestRow, "state">): OpenOutcome | undefined {
      const runId = request.run_id;
      if (runId === undefined || request.kind === "ha" || !runs.startedHere(runId)) return;
      const key = dedupeKey(runId, request.task_id, request.attempt, request.kind, request.slot);
      let keys = opened.get(runId);
      if (!keys) opened.set(runId, keys = new Set());
      if (keys.has(key)) return;
      keys.add(key);
      const row: Row = { ...request, run_id: runId, state: "pending" };
      const settled = waiters.add(row);
      pending.keep(row);
      const seat = options.seat(row.sid);
      if (seat?.holdsSocket && options.socketHere(row.sid)) {
        const timer = setTimeout(() => unlocal(row.req_id, true), graceMs);
        unrefTimer(timer);
        local.set(row.req_id, { row, key, timer });
      } else {
        store(row, key);
      }
      seat?.delivered(row);
      return { state: "pending", row, created: true, settled };
    },

    /**
     * Settles a request of a run started here with a reply that reached this
     * instance; undefined when it is not one of those (the caller settles it
     * as stored). Resolves with the row, or undefined when it ended already.
     */
    settle(known: RequestRow, reply: ReplyFrame): Promise<RequestRow | undefined> | undefined {
      const reqId = known.req_id;
      const after: RequestRow = { ...known, state: "settled", reply, settled_by: instanceId };
      const mine = unlocal(reqId, false);
      if (mine) {
        // known here alone: this instance is the arbiter; the row is written behind
        // with the run's writes (a takeover finds the reply by its dedupe key)
        runs.queueRequest({
          ...columns(mine.row, mine.key),
          state: "settled",
          reply: reply as unknown as Json,
          settled_by: instanceId,
          settled_client: known.settled_client ?? null,
          note: null,
        }).catch(() => {}); // a lost run: its new owner asks again
        options.apply(after, reqId);
        return Promise.resolve(after);
      }
      const queued = storing.get(reqId);
      if (!queued) return undefined;
      runs.noteRequestRow(known.run_id!);
      // its row may not have landed yet: insert it settled, or settle it if it landed
      const note = endedNote(REQUEST_TOPICS.settled, instanceId, after);
      const { state: _, ...fields } = known;
      const by = { instance: instanceId, client: known.settled_client ?? null };
      return settleUnstored(sql, fields, queued.key, reply, by, note).catch((err) => {
        // the row landed meanwhile (its dedupe key ran into ours): settle that row
        if ((err as { code?: string }).code !== "23505") throw err;
        return settleRequest(sql, reqId, reply, by, note);
      });
    },

    /** Cancels a request known here alone; false when it is not one. */
    cancel(row: RequestRow, reason: CancelReason): boolean {
      if (!unlocal(row.req_id, false)) return false;
      options.apply({ ...row, state: "cancelled", cancel_reason: reason }, row.req_id);
      return true;
    },

    /**
     * Waits until the row of a request being written has landed (or failed);
     * `skipped` when the batch that ended its run left it out (no row).
     */
    async stored(reqId: string): Promise<"stored" | "taken" | "skipped" | undefined> {
      return await storing.get(reqId)?.stored.catch(() => undefined);
    },

    /** Writes the rows of a seat's requests known here alone (its socket left). */
    socketLeft(sid: string): void {
      for (const [reqId, l] of local) if (l.row.sid === sid) unlocal(reqId, true);
    },

    /** The req_ids not in the table yet (known here alone, or being written). */
    unwritten: (): string[] => [...local.keys(), ...storing.keys()],

    /** Forgets a run that ended; true when it opened its requests here (a run started here). */
    forgetRun(runId: string): boolean {
      const known = opened.delete(runId);
      for (const [reqId, l] of local) {
        if (l.row.run_id === runId && unlocal(reqId, false)) pending.drop(reqId);
      }
      return known;
    },

    stop(): void {
      for (const l of local.values()) clearTimeout(l.timer);
    },
  };
}

/** The type of {@link createRunRequests}. */
export type RunRequests = ReturnType<typeof createRunRequests>;
