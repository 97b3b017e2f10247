/**
 * Operator requests as rows, shared by the cluster: the instance running a run
 * opens a request, the instance holding the seat's socket delivers it, and
 * whichever instance a reply reaches settles it. The row is the truth; the bus
 * only says which row changed (topics {@link REQUEST_TOPICS}).
 *
 * - One request per (run, task, attempt, kind): a resumed run that asks again
 *   gets the same req_id (so replayed frames keep their ids), or the reply that
 *   arrived while it was not running.
 * - A request settles at most once cluster-wide (a conditional update); a second
 *   reply is a conflict, wherever it arrives.
 *
 * @module
 */
import type { CancelReason, ReplyFrame, RequestFrame } from "../protocol/frames.ts";
import type { RequestRecord } from "./seat_store.ts";
import type { Sql, TxSql } from "./pg_sql.ts";
import { FencedError } from "./pg_run_owner.ts";
import { BUS_CHANNEL, busNote } from "./pg_bus.ts";

/** Bus topics: a request opened (for the socket holder) or settled/ended (for the run's owner). */
export const REQUEST_TOPICS = { opened: "req_opened", settled: "req_settled", ended: "req_ended" };

/**
 * The bus note of a request that was settled or cancelled: its row without the
 * frame (nobody sends an ended request again, and a spawn's frame is most of
 * the row), so the note stays small and carries its row.
 */
export function endedNote(
  topic: string,
  from: string,
  row: Omit<RequestRow, "frame"> & { frame?: unknown },
): string {
  const { frame: _, ...rest } = row;
  return busNote(topic, row.req_id, from, rest);
}

/** A request row. */
export interface RequestRow extends Omit<RequestRecord, "state" | "kind"> {
  /** `ask`, `hb`, `spawn`, or `ha` (a hook_after waiting for its socket holder). */
  kind: RequestRecord["kind"] | "ha";
  state: "pending" | "settled" | "cancelled";
  settled_by?: string;
  /** What the answering socket declared with `?client=` (the audit), when it declared one. */
  settled_client?: string;
  /** Why a cancelled request ended (`timeout`, `run_ended`, `session_deleted`). */
  cancel_reason?: CancelReason;
}

/** A pool or a transaction. */
type Q = Sql | TxSql;

/** What {@link openRequest} found or made. */
export type Opened =
  | { state: "pending"; row: RequestRow; created: boolean }
  | { state: "settled"; row: RequestRow }
  | { state: "cancelled"; row: RequestRow };

/**
 * The dedupe key of a run's request. `slot` tells apart requests one attempt
 * may make several of (nested asks), as in session/request_book.ts.
 */
export function dedupeKey(
  runId: string,
  taskId: string,
  attempt: number,
  kind: string,
  slot?: string,
): string {
  const key = `${runId}|${taskId}|${attempt}|${kind}`;
  return slot === undefined ? key : `${key}|${slot}`;
}

// deno-lint-ignore no-explicit-any
function toRow(r: any): RequestRow {
  const row: RequestRow = {
    req_id: r.req_id,
    sid: r.sid,
    kind: r.kind,
    task_id: r.task_id,
    attempt: r.attempt,
    frame: r.frame as RequestFrame,
    sent_at: Number(r.sent_at),
    state: r.state,
  };
  if (r.run_id !== null) row.run_id = r.run_id;
  if (r.reply !== null) row.reply = r.reply as ReplyFrame;
  if (r.settled_by !== null) row.settled_by = r.settled_by;
  if (r.settled_client != null) row.settled_client = r.settled_client;
  if (r.cancel_reason !== null) row.cancel_reason = r.cancel_reason;
  if (r.role != null) row.role = r.role;
  if (r.deadline_at != null) row.deadline_at = Number(r.deadline_at);
  return row;
}

/**
 * Opens `record` (pending), unless its run already has a request for the same
 * task, attempt and kind: then that one is returned as it stands.
 */
export async function openRequest(
  sql: Q,
  record: Omit<RequestRow, "state">,
  fence?: { epoch: number },
): Promise<Opened> {
  const dedupe = record.run_id === undefined || record.kind === "ha"
    ? null
    : dedupeKey(record.run_id, record.task_id, record.attempt, record.kind, record.slot);
  // one statement: inserted only while the run's epoch is still `fence.epoch`
  const inserted = await sql`INSERT INTO sb_requests
      (req_id, sid, run_id, dedupe, kind, task_id, attempt, frame, sent_at, state, role,
        deadline_at)
    SELECT ${record.req_id}, ${record.sid}, ${record.run_id ?? null}, ${dedupe}, ${record.kind},
      ${record.task_id}, ${record.attempt}::int, ${sql.json(record.frame)}::json,
      ${record.sent_at}::bigint, 'pending', ${record.role ?? null}::text,
      ${record.deadline_at ?? null}::bigint
    WHERE ${fence === undefined} OR EXISTS (SELECT 1 FROM sb_runs
      WHERE run_id = ${record.run_id ?? null} AND epoch = ${fence?.epoch ?? -1})
    ON CONFLICT (dedupe) DO NOTHING
    RETURNING *`;
  if (inserted.length === 1) return { state: "pending", row: toRow(inserted[0]), created: true };
  const [found] = dedupe === null
    ? []
    : await sql`SELECT * FROM sb_requests WHERE dedupe = ${dedupe}`;
  if (!found) throw new FencedError(record.run_id ?? "");
  const row = toRow(found);
  if (row.state === "pending") return { state: "pending", row, created: false };
  return row.state === "settled" ? { state: "settled", row } : { state: "cancelled", row };
}

/**
 * Settles a pending request with `reply`, once cluster-wide (the conditional
 * update is the arbiter); returns the row, or undefined when it is unknown or
 * no longer pending. With `note`, the bus is told in the same statement (only
 * when it settled).
 */
export async function settleRequest(
  sql: Sql,
  reqId: string,
  reply: ReplyFrame,
  by: { instance: string; client: string | null },
  note: string | null = null,
): Promise<RequestRow | undefined> {
  const rows = await sql`WITH s AS (UPDATE sb_requests
      SET state = 'settled', reply = ${sql.json(reply)}, settled_by = ${by.instance},
        settled_client = ${by.client}::text
      WHERE req_id = ${reqId} AND state = 'pending'
      RETURNING *)
    SELECT s.*, CASE WHEN ${note}::text IS NOT NULL THEN pg_notify(${BUS_CHANNEL}, ${note}) END AS noted
    FROM s`;
  return rows.length === 1 ? toRow(rows[0]) : undefined;
}

/**
 * Settles a request whose pending row may not be stored yet (its insert is
 * queued with its run's writes): inserts it settled, or settles the stored row
 * if it is still pending, once cluster-wide (the primary key and the
 * conditional update are the arbiters). The queued insert then finds the row
 * and writes nothing. Returns the row, or undefined when it was settled or
 * cancelled already. With `note`, the bus is told in the same statement.
 */
export async function settleUnstored(
  sql: Sql,
  row: Omit<RequestRow, "state">,
  dedupe: string | null,
  reply: ReplyFrame,
  by: { instance: string; client: string | null },
  note: string | null = null,
): Promise<RequestRow | undefined> {
  const rows = await sql`WITH s AS (INSERT INTO sb_requests
        (req_id, sid, run_id, dedupe, kind, task_id, attempt, frame, sent_at, state, reply,
          settled_by, settled_client, role, deadline_at)
      VALUES (${row.req_id}, ${row.sid}, ${row.run_id ?? null}, ${dedupe}, ${row.kind},
        ${row.task_id}, ${row.attempt}, ${sql.json(row.frame)}, ${row.sent_at}, 'settled',
        ${sql.json(reply)}, ${by.instance}, ${by.client}::text, ${row.role ?? null}::text,
        ${row.deadline_at ?? null}::bigint)
      ON CONFLICT (req_id) DO UPDATE SET state = 'settled', reply = excluded.reply,
        settled_by = excluded.settled_by, settled_client = excluded.settled_client
      WHERE sb_requests.state = 'pending'
      RETURNING *)
    SELECT s.*, CASE WHEN ${note}::text IS NOT NULL THEN pg_notify(${BUS_CHANNEL}, ${note}) END AS noted
    FROM s`;
  return rows.length === 1 ? toRow(rows[0]) : undefined;
}

/**
 * Ends a pending request without a reply; returns it, or undefined if it was
 * not pending (or its run is fenced). With `note`, the bus is told in the same
 * statement.
 */
export async function cancelRequest(
  sql: Q,
  reqId: string,
  reason: CancelReason,
  fence?: { runId: string; epoch: number },
  note: string | null = null,
): Promise<RequestRow | undefined> {
  const rows = await sql`WITH s AS (UPDATE sb_requests
      SET state = 'cancelled', cancel_reason = ${reason}
      WHERE req_id = ${reqId} AND state = 'pending'
        AND (${fence === undefined} OR EXISTS (SELECT 1 FROM sb_runs
          WHERE run_id = ${fence?.runId ?? null} AND epoch = ${fence?.epoch ?? -1}))
      RETURNING *)
    SELECT s.*, CASE WHEN ${note}::text IS NOT NULL THEN pg_notify(${BUS_CHANNEL}, ${note}) END AS noted
    FROM s`;
  return rows.length === 1 ? toRow(rows[0]) : undefined;
}

/** Stores a hook_after for the socket holder and tells the bus, in one statement. */
export async function insertHookAfter(
  sql: Sql,
  row: Omit<RequestRow, "state">,
  note: string,
): Promise<void> {
  await sql`WITH i AS (INSERT INTO sb_requests
        (req_id, sid, run_id, kind, task_id, attempt, frame, sent_at, state)
      VALUES (${row.req_id}, ${row.sid}, ${row.run_id ?? null}, 'ha', ${row.task_id},
        ${row.attempt}, ${sql.json(row.frame)}, ${row.sent_at}, 'pending')
      RETURNING 1)
    SELECT pg_notify(${BUS_CHANNEL}, ${note}) FROM i`;
}

/** One request by id. */
export async function getRequest(sql: Q, reqId: string): Promise<RequestRow | undefined> {
  const [row] = await sql`SELECT * FROM sb_requests WHERE req_id = ${reqId}`;
  return row ? toRow(row) : undefined;
}

/** The pending requests of a seat, in the order first sent. */
export async function pendingOfSeat(sql: Sql, sid: string): Promise<RequestRow[]> {
  const rows = await sql`SELECT * FROM sb_requests
    WHERE sid = ${sid} AND state = 'pending' ORDER BY seq`;
  return rows.map(toRow);
}

/** The requests of runs, in the order first sent (a run owner's heal). */
export async function requestsOfRuns(sql: Sql, runIds: string[]): Promise<RequestRow[]> {
  if (runIds.length === 0) return [];
  const rows = await sql`SELECT * FROM sb_requests WHERE run_id = ANY(${runIds}) ORDER BY seq`;
  return rows.map(toRow);
}

/** Ends every pending request of a seat (seat deleted); returns them. */
export async function cancelSeatRequests(sql: Sql, sid: string): Promise<RequestRow[]> {
  const rows = await sql`UPDATE sb_requests SET state = 'cancelled',
      cancel_reason = 'session_deleted'
    WHERE sid = ${sid} AND state = 'pending' RETURNING *`;
  return rows.map(toRow);
}

/** Every pending request of the cluster, in the order first sent. */
export async function allPending(sql: Sql): Promise<RequestRow[]> {
  const rows = await sql`SELECT * FROM sb_requests WHERE state = 'pending' ORDER BY seq`;
  return rows.map(toRow);
}

/** Deletes a delivered hook_after. */
export async function deleteRequest(sql: Sql, reqId: string): Promise<void> {
  await sql`DELETE FROM sb_requests WHERE req_id = ${reqId}`;
}

/**
 * Deletes every request of a run that has ended (not of a run still running:
 * an old owner that lost the run must not delete the new owner's requests) and,
 * when it deleted some, sends `note` in the same statement; true when it did.
 */
export async function deleteRunRequests(
  sql: Sql,
  runId: string,
  note: string | null = null,
): Promise<boolean> {
  const rows = await sql`WITH d AS (DELETE FROM sb_requests WHERE run_id = ${runId}
      AND NOT EXISTS (SELECT 1 FROM sb_runs WHERE run_id = ${runId} AND status = 'running')
      RETURNING 1)
    SELECT CASE WHEN ${note}::text IS NOT NULL THEN pg_notify(${BUS_CHANNEL}, ${note}) END AS noted
    WHERE EXISTS (SELECT 1 FROM d)`;
  return rows.length > 0;
}
