/**
 * What one cluster instance knows of the operator requests in flight: every
 * pending request of the cluster, by seat, in the order seen (the instance
 * holding a seat's socket delivers and replays them, any instance lists them),
 * the req_ids that ended lately (a late note saying one is pending is stale),
 * and the waiters of the requests opened by runs of this instance.
 *
 * @module
 */
import type { CancelReason, ReplyFrame } from "../protocol/frames.ts";
import type { RequestKind, RequestRecord } from "../protocol/runs.ts";
import type { RequestRow } from "../store/pg_requests.ts";

/** How many ended req_ids are remembered. */
const ENDED_MEMORY = 4096;

/** The pending requests of the cluster as this instance knows them. */
export interface PendingView {
  /** Keeps a pending row (replacing what was known of it). */
  keep(row: RequestRow): void;
  /** Forgets a request that ended; returns its row if it was known. */
  drop(reqId: string): RequestRow | undefined;
  /** True when the request ended lately. */
  ended(reqId: string): boolean;
  get(reqId: string): RequestRow | undefined;
  /** The pending rows of a seat, in the order first seen. */
  of(sid: string): RequestRow[];
  /** The pending rows of a run. */
  ofRun(runId: string): RequestRow[];
  reqIds(): string[];
}

/** Creates an empty view. */
export function createPendingView(): PendingView {
  const bySeat = new Map<string, Map<string, RequestRow>>();
  const sidOf = new Map<string, string>();
  const ended = new Set<string>();
  return {
    keep(row) {
      let rows = bySeat.get(row.sid);
      if (!rows) bySeat.set(row.sid, rows = new Map());
      rows.set(row.req_id, row);
      sidOf.set(row.req_id, row.sid);
    },
    drop(reqId) {
      ended.add(reqId);
      if (ended.size > ENDED_MEMORY) ended.delete(ended.values().next().value!);
      const sid = sidOf.get(reqId);
      if (sid === undefined) return undefined;
      sidOf.delete(reqId);
      const rows = bySeat.get(sid);
      const row = rows?.get(reqId);
      rows?.delete(reqId);
      if (rows?.size === 0) bySeat.delete(sid);
      return row;
    },
    ended: (reqId) => ended.has(reqId),
    get(reqId) {
      const sid = sidOf.get(reqId);
      return sid === undefined ? undefined : bySeat.get(sid)?.get(reqId);
    },
    of: (sid) => [...(bySeat.get(sid)?.values() ?? [])],
    ofRun(runId) {
      const out: RequestRow[] = [];
      for (const rows of bySeat.values()) {
        for (const row of rows.values()) if (row.run_id === runId) out.push(row);
      }
      return out;
    },
    reqIds: () => [...sidOf.keys()],
  };
}

/** Pending rows as request records (a hook_after is no request of a run's). */
export function pendingRecordsOf(rows: readonly RequestRow[]): RequestRecord[] {
  const out: RequestRecord[] = [];
  for (const row of rows) {
    if (row.kind === "ha") continue;
    const { settled_by: _s, settled_client: _sc, cancel_reason: _c, ...rest } = row;
    out.push({ ...rest, kind: row.kind, state: "pending" });
  }
  return out;
}

/** Pending rows counted by kind (hook_afters left out). */
export function countByKind(rows: readonly RequestRow[]): Record<RequestKind, number> {
  const counts: Record<RequestKind, number> = { ask: 0, hb: 0, spawn: 0 };
  for (const r of rows) if (r.kind !== "ha") counts[r.kind]++;
  return counts;
}

/**
 * Why a request a run waits on ended without a reply, elsewhere (its seat was
 * deleted, it timed out or was cancelled): the run's error, and the reason its
 * journal records, as a single server's does.
 */
export class RequestCancelled extends Error {
  readonly reason: CancelReason;
  /** `expired`: the seat was deleted by the idle sweep (the text says so, as on one server). */
  constructor(reason: CancelReason, expired = false) {
    super(
      reason === "session_deleted"
        ? `operator session deleted${expired ? " (idle expiry)" : ""}`
        : `operator request ${reason === "timeout" ? "timed out" : "cancelled"}`,
    );
    this.name = "RequestCancelled";
    this.reason = reason;
  }
}

/** A request row settled with its reply. */
export type SettledRow = RequestRow & { state: "settled"; reply: ReplyFrame };

/** The runs' side of requests of this instance: who waits for which reply. */
export interface Waiters {
  /**
   * Waits for a pending request to be settled: resolves with its settled row (the
   * reply, and the client that answered, wherever it did); rejects when it ends
   * without one.
   */
  add(row: RequestRow): Promise<SettledRow>;
  has(reqId: string): boolean;
  /** Stops waiting (the opener gave up): nothing settles the promise any more. */
  forget(reqId: string): void;
  resolve(reqId: string, settled: SettledRow): void;
  reject(reqId: string, err: unknown): void;
  /** Rejects every waiter of a seat. */
  rejectSeat(sid: string, err: unknown): void;
  reqIds(): string[];
}

/** Creates the waiters of one instance. */
export function createWaiters(): Waiters {
  const waiters = new Map<
    string,
    { sid: string; resolve(settled: SettledRow): void; reject(err: unknown): void }
  >();
  const take = (reqId: string) => {
    const waiter = waiters.get(reqId);
    waiters.delete(reqId);
    return waiter;
  };
  return {
    add(row) {
      const { promise, resolve, reject } = Promise.withResolvers<SettledRow>();
      waiters.set(row.req_id, { sid: row.sid, resolve, reject });
      promise.catch(() => {}); // its opener may have stopped listening (an aborted wait)
      return promise;
    },
    has: (reqId) => waiters.has(reqId),
    forget(reqId) {
      waiters.delete(reqId);
    },
    resolve: (reqId, settled) => take(reqId)?.resolve(settled),
    reject: (reqId, err) => take(reqId)?.reject(err),
    rejectSeat(sid, err) {
      for (const [reqId, waiter] of waiters) {
        if (waiter.sid === sid) take(reqId)?.reject(err);
      }
    },
    reqIds: () => [...waiters.keys()],
  };
}
