/**
 * Operator requests written straight to the request table: those of runs this
 * instance claimed from another (each write fenced by the run's epoch), of no
 * run, and replies to requests opened elsewhere. (The requests of runs started
 * here are written behind: session/cluster_run_requests.ts.)
 *
 * @module
 */
import type { CancelReason, ReplyFrame } from "../protocol/frames.ts";
import type { Bus } from "../store/pg_bus.ts";
import {
  cancelRequest,
  endedNote,
  getRequest,
  openRequest,
  REQUEST_TOPICS,
  type RequestRow,
  settleRequest,
} from "../store/pg_requests.ts";
import { FencedError } from "../store/pg_run_owner.ts";
import type { Sql } from "../store/pg_sql.ts";
import type { PgRunStore } from "../store/run_store_pg.ts";
import type { OpenOutcome } from "./cluster_hub.ts";
import type { PendingView, SettledRow, Waiters } from "./cluster_pending.ts";
import type { HubSeat } from "./hub_seat.ts";

/** What {@link createTableRequests} works with. */
export interface TableRequestsOptions {
  sql: Sql;
  bus: Bus;
  instanceId: string;
  runs: PgRunStore;
  pending: PendingView;
  waiters: Waiters;
  seat(sid: string): HubSeat | undefined;
  /** Applies what a request's row now says (the hub's `apply`). */
  apply(row: RequestRow | undefined, reqId: string): void;
  /** Reads a request's row and applies it. */
  read(reqId: string): void;
}

/** The requests an instance writes to the table as it goes. */
export function createTableRequests(options: TableRequestsOptions) {
  const { sql, bus, instanceId, runs, pending, waiters, apply } = options;

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
    /** Opens a request, or finds the one its run already opened for this attempt. */
    async open(row: Omit<RequestRow, "state">): Promise<OpenOutcome> {
      // an attempt of a run started here asked twice: its first row answers once written
      if (row.run_id !== undefined && runs.startedHere(row.run_id)) await runs.flushed();
      const epoch = await epochFor(row.run_id);
      if (row.run_id !== undefined) runs.noteRequestRow(row.run_id);
      const outcome = await openRequest(sql, row, epoch === undefined ? undefined : { epoch });
      if (outcome.state !== "pending") return outcome;
      const settled = waiters.add(outcome.row);
      pending.keep(outcome.row);
      options.seat(outcome.row.sid)?.delivered(outcome.row);
      if (outcome.created) await bus.publish(REQUEST_TOPICS.opened, outcome.row.req_id);
      else options.read(outcome.row.req_id); // a reply may have landed before the waiter
      return { ...outcome, settled };
    },

    /** Cancels a stored request; false when it was no longer pending. */
    async cancel(row: RequestRow, reason: CancelReason): Promise<boolean> {
      const after: RequestRow = { ...row, state: "cancelled", cancel_reason: reason };
      const note = endedNote(REQUEST_TOPICS.ended, instanceId, after);
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

    /** Settles a stored request once cluster-wide; undefined when it was no longer pending. */
    settle(known: RequestRow, reply: ReplyFrame): Promise<RequestRow | undefined> {
      const reqId = known.req_id;
      return settleRequest(
        sql,
        reqId,
        reply,
        { instance: instanceId, client: known.settled_client ?? null },
        endedNote(REQUEST_TOPICS.settled, instanceId, {
          ...known,
          state: "settled",
          reply,
          settled_by: instanceId,
        }),
      );
    },

    /** Waits again for the reply of a pending request that nothing here waits on. */
    follow(row: RequestRow): Promise<SettledRow> {
      const settled = waiters.add(row);
      // it may have ended before the waiter; a row gone with its run ends the wait too
      getRequest(sql, row.req_id).then((now) => {
        if (now) apply(now, row.req_id);
        else waiters.reject(row.req_id, new Error("operator request cancelled"));
      }).catch((err) => waiters.reject(row.req_id, err));
      return settled;
    },
  };
}
