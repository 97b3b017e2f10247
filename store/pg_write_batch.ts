/**
 * One batch of a cluster instance's run writes as one SQL statement. The run
 * store (store/run_store_pg.ts) queues writes and, while one batch is in
 * flight, collects the next; this module folds a batch into a single statement
 * (one round trip, one implicit transaction) made of data-modifying CTEs:
 *
 * - new runs are inserted at epoch 1; the other runs of the batch are locked
 *   `FOR SHARE` if this instance still owns them at the epoch it holds (the
 *   fence: a claimer's epoch bump waits for the statement, or fences it);
 * - runs, steps, journal entries, tasks, events, tokens and operator requests
 *   of held runs are written; nothing of a fenced run is;
 * - the bus notifications go out with the commit (`pg_notify`): a request opened
 *   (with its row when it fits the payload) and the followed runs whose events
 *   changed (a notifying commit takes PostgreSQL's notification lock, so runs
 *   nobody follows elsewhere send none).
 *
 * Writes of one batch are collapsed first: a run's record, a step, a task or a
 * token keep their last value, an event its first. A run that starts and ends
 * in one batch (a short run: most of them) is one row: its steps, journal
 * entries and events go into its `bundle` column, not a row of `sb_run_records`
 * each (with three indexes, they were most of what a run cost the database).
 * A run that ends is never resumed, so the batch that ends one leaves out what
 * only a resume reads: its journal entries, its tasks whose worker holds no
 * token (one that does answers 410 after the run: kept, as a row, found by id),
 * and its operator requests (a run's request rows are deleted when it ends; one
 * settled on the instance that sent it is written only for a takeover to find).
 *
 * @module
 */
import type { Json } from "../protocol/json.ts";
import type { RunEvent, RunRecord, TaskState, TokenRecord } from "../protocol/runs.ts";
import { BUS_CHANNEL, busNote } from "./pg_bus.ts";
import type { Sql } from "./pg_sql.ts";

/** Bus topic: events of runs were stored (the id is the run ids, space separated). */
export const RUN_EVENTS_TOPIC = "run_events";

/** A request row as the batch inserts it (pending). */
export interface RequestInsert {
  req_id: string;
  sid: string;
  run_id: string;
  dedupe: string | null;
  kind: string;
  task_id: string;
  attempt: number;
  frame: Json;
  sent_at: number;
  /** `pending`, or `settled` (a reply settled it before it was written). */
  state: "pending" | "settled";
  reply?: Json;
  settled_by?: string;
  /** What the answering socket declared with `?client=`, if any. */
  settled_client?: string | null;
  /** The role it was addressed to, and its deadline (what the inbox shows). */
  role?: string | null;
  deadline_at?: number | null;
  /** The bus payload announcing it (topic, id and, when it fits, the row), if any. */
  note: string | null;
}

/** One queued write. */
export type BatchOp =
  | { t: "insert"; run: RunRecord }
  | { t: "run"; run: RunRecord }
  | { t: "record"; kind: string; key: string; n: number; body: unknown }
  | { t: "event"; event: RunEvent }
  | { t: "token"; record: TokenRecord; fenced: boolean }
  | { t: "request"; row: RequestInsert };

/** A write of run `runId` (null: a token of no run owned here). */
export interface BatchItem {
  runId: string | null;
  op: BatchOp;
}

/**
 * What a batch held: the runs it wrote (the rest were fenced), the requests it
 * opened (their rows are stored), and the requests it left out because their
 * run ended in the same batch (no row: see {@link writeBatch}).
 */
export interface BatchOutcome {
  held: Set<string>;
  opened: Set<string>;
  skipped: Set<string>;
}

/** The most bytes of a notification this code sends (PostgreSQL's limit is 8000). */
const NOTE_BYTES = 7_800;

/** A step, journal entry or event kept in its run's row. */
export interface BundleItem {
  kind: string;
  key: string;
  n: number;
  body: unknown;
}

/** Drops the journal entries and token-less tasks of the runs this batch ends (never resumed). */
/** True when the batch's last record of run `id` says it ended. */
function ends(
  inserts: Map<string, RunRecord>,
  updates: Map<string, RunRecord>,
  id: string,
): boolean {
  const run = inserts.get(id) ?? updates.get(id);
  return run !== undefined && run.status !== "running";
}

function dropResumeOnly(
  inserts: Map<string, RunRecord>,
  updates: Map<string, RunRecord>,
  records: Map<string, { run_id: string; kind: string; body: unknown }>,
): void {
  for (const [k, r] of records) {
    if (!ends(inserts, updates, r.run_id)) continue;
    if (r.kind === "journal" || (r.kind === "task" && !holdsToken(r.body as TaskState))) {
      records.delete(k);
    }
  }
}

/** True when a worker of the task was given a token (it may still call after the run). */
function holdsToken(task: TaskState): boolean {
  return task.attempts.some((a) => a.nonce !== undefined);
}

/**
 * Moves the steps, journal entries and events of the runs this batch inserts
 * already ended out of `records` and `events`, into one bundle a run.
 */
function bundleShortRuns(
  inserts: Map<string, RunRecord>,
  records: Map<string, { run_id: string; kind: string; key: string; n: number; body: unknown }>,
  events: Map<string, { run_id: string; key: string; n: number; body: RunEvent }>,
): Map<string, BundleItem[]> {
  const bundles = new Map<string, BundleItem[]>();
  for (const [id, run] of inserts) if (run.status !== "running") bundles.set(id, []);
  if (bundles.size === 0) return bundles;
  for (const [k, r] of records) {
    const bundle = bundles.get(r.run_id);
    if (bundle === undefined || r.kind === "task") continue;
    bundle.push({ kind: r.kind, key: r.key, n: r.n, body: r.body });
    records.delete(k);
  }
  for (const [k, e] of events) {
    const bundle = bundles.get(e.run_id);
    if (bundle === undefined) continue;
    bundle.push({ kind: "event", key: e.key, n: e.n, body: e.body });
    events.delete(k);
  }
  return bundles;
}

/** Groups run ids into `run_events` notes under the payload limit. */
function eventNotes(runIds: Iterable<string>, from: string): string[] {
  const notes: string[] = [];
  let ids: string[] = [];
  let size = 0;
  for (const id of runIds) {
    if (size + id.length + 1 > NOTE_BYTES - 100 && ids.length > 0) {
      notes.push(busNote(RUN_EVENTS_TOPIC, ids.join(" "), from));
      ids = [];
      size = 0;
    }
    ids.push(id);
    size += id.length + 1;
  }
  if (ids.length > 0) notes.push(busNote(RUN_EVENTS_TOPIC, ids.join(" "), from));
  return notes;
}

/**
 * Writes `items` (in call order) in one statement, as `instanceId` holding
 * `epochOf(run)` for each run it does not insert. A `run_events` note names the
 * runs whose events changed and that `followed(run)` says someone follows.
 */
export async function writeBatch(
  sql: Sql,
  instanceId: string,
  items: readonly BatchItem[],
  epochOf: (runId: string) => number | undefined,
  followed: (runId: string) => boolean = () => true,
): Promise<BatchOutcome> {
  const inserts = new Map<string, RunRecord>();
  const updates = new Map<string, RunRecord>();
  const records = new Map<
    string,
    { run_id: string; kind: string; key: string; n: number; body: unknown }
  >();
  const events = new Map<string, { run_id: string; key: string; n: number; body: RunEvent }>();
  const tokens = new Map<
    string,
    {
      nonce: string;
      handle: string | null;
      run_id: string | null;
      fenced: boolean;
      record: TokenRecord;
    }
  >();
  const requests: RequestInsert[] = [];
  const runs = new Set<string>();
  const withEvents = new Set<string>();
  for (const { runId, op } of items) {
    if (runId !== null) runs.add(runId);
    switch (op.t) {
      case "insert":
        inserts.set(op.run.run_id, op.run);
        break;
      case "run":
        // a run inserted by this batch is inserted with its last record
        if (inserts.has(op.run.run_id)) inserts.set(op.run.run_id, op.run);
        else updates.set(op.run.run_id, op.run);
        break;
      case "record":
        records.set(`${runId}\0${op.kind}\0${op.key}`, {
          run_id: runId!,
          kind: op.kind,
          key: op.key,
          n: op.n,
          body: op.body,
        });
        break;
      case "event": {
        const key = `${runId}\0${op.event.id}`;
        if (!events.has(key)) {
          events.set(key, {
            run_id: runId!,
            key: String(op.event.id),
            n: op.event.id,
            body: op.event,
          });
        }
        if (followed(runId!)) withEvents.add(runId!);
        break;
      }
      case "token":
        tokens.set(op.record.nonce, {
          nonce: op.record.nonce,
          handle: op.record.handle ?? null,
          run_id: op.record.run_id ?? null,
          fenced: op.fenced,
          record: op.record,
        });
        break;
      case "request":
        requests.push(op.row);
        break;
    }
  }
  dropResumeOnly(inserts, updates, records);
  const skipped = new Set<string>();
  for (let i = requests.length - 1; i >= 0; i--) {
    if (!ends(inserts, updates, requests[i].run_id)) continue;
    skipped.add(requests[i].req_id);
    requests.splice(i, 1);
  }
  const bundles = bundleShortRuns(inserts, records, events);
  // the runs the batch updates, and each with the epoch held here ("<run_id> <epoch>")
  const fenceIds = [...runs].filter((id) => !inserts.has(id));
  const fenceEpochs = fenceIds.map((id) => `${id} ${epochOf(id) ?? -1}`);
  const runRows = (m: Map<string, RunRecord>) =>
    JSON.stringify([...m.values()].map((r) => ({
      run_id: r.run_id,
      status: r.status,
      created_at: r.created_at,
      record: r,
      bundle: bundles.get(r.run_id) ?? null,
    })));
  // each set is one json parameter (as text: the driver would encode a string again)
  const p = {
    inserts: runRows(inserts),
    updates: runRows(updates),
    records: JSON.stringify([...records.values()]),
    events: JSON.stringify([...events.values()]),
    tokens: JSON.stringify([...tokens.values()]),
    // the rows without their notes, and the notes apart (a note holds its row: sent once each)
    requests: JSON.stringify(requests.map(({ note: _, ...row }) => row)),
    requestNotes: JSON.stringify(
      requests.flatMap((r) => r.note === null ? [] : [{ req_id: r.req_id, note: r.note }]),
    ),
    notes: JSON.stringify(eventNotes(withEvents, instanceId)),
  };
  const [row] = await sql`
    WITH new_runs AS (
      INSERT INTO sb_runs (run_id, status, created_at, owner, epoch, record, bundle)
      SELECT i.run_id, i.status, i.created_at, ${instanceId}, 1, i.record, i.bundle
      FROM json_to_recordset(${p.inserts}::text::json)
        AS i(run_id text, status text, created_at bigint, record json, bundle json)
      ON CONFLICT (run_id) DO NOTHING
      RETURNING run_id),
    fenced AS (
      SELECT r.run_id FROM sb_runs r
      WHERE r.run_id = ANY(${fenceIds}::text[])
        AND r.run_id || ' ' || r.epoch = ANY(${fenceEpochs}::text[])
        AND r.owner = ${instanceId}
      FOR SHARE OF r),
    held AS (SELECT run_id FROM new_runs UNION ALL SELECT run_id FROM fenced),
    updated AS (
      UPDATE sb_runs r SET status = u.status, record = u.record
      FROM json_to_recordset(${p.updates}::text::json)
        AS u(run_id text, status text, created_at bigint, record json)
      WHERE r.run_id = u.run_id AND u.run_id IN (SELECT run_id FROM fenced)),
    recs AS (
      INSERT INTO sb_run_records (run_id, kind, key, n, body)
      SELECT x.run_id, x.kind, x.key, x.n, x.body
      FROM json_to_recordset(${p.records}::text::json)
        AS x(run_id text, kind text, key text, n bigint, body json)
      WHERE x.run_id IN (SELECT run_id FROM held)
      ON CONFLICT (run_id, kind, key) DO UPDATE SET n = excluded.n, body = excluded.body),
    evs AS (
      INSERT INTO sb_run_records (run_id, kind, key, n, body)
      SELECT x.run_id, 'event', x.key, x.n, x.body
      FROM json_to_recordset(${p.events}::text::json)
        AS x(run_id text, key text, n bigint, body json)
      WHERE x.run_id IN (SELECT run_id FROM held)
      ON CONFLICT DO NOTHING),
    toks AS (
      INSERT INTO sb_tokens (nonce, handle, run_id, record)
      SELECT x.nonce, x.handle, x.run_id, x.record
      FROM json_to_recordset(${p.tokens}::text::json)
        AS x(nonce text, handle text, run_id text, fenced boolean, record json)
      WHERE NOT x.fenced OR x.run_id IN (SELECT run_id FROM held)
      ON CONFLICT (nonce) DO UPDATE SET handle = excluded.handle, record = excluded.record),
    reqs AS (
      INSERT INTO sb_requests
        (req_id, sid, run_id, dedupe, kind, task_id, attempt, frame, sent_at, state, reply,
          settled_by, settled_client, role, deadline_at)
      SELECT x.req_id, x.sid, x.run_id, x.dedupe, x.kind, x.task_id, x.attempt, x.frame,
        x.sent_at, x.state, x.reply, x.settled_by, x.settled_client, x.role, x.deadline_at
      FROM json_to_recordset(${p.requests}::text::json)
        AS x(req_id text, sid text, run_id text, dedupe text, kind text, task_id text,
          attempt integer, frame json, sent_at bigint, state text, reply json, settled_by text,
          settled_client text, role text, deadline_at bigint)
      WHERE x.run_id IN (SELECT run_id FROM held)
      ON CONFLICT DO NOTHING
      RETURNING req_id),
    notes AS (
      SELECT pg_notify(${BUS_CHANNEL}, x.note)
      FROM json_to_recordset(${p.requestNotes}::text::json) AS x(req_id text, note text)
      WHERE x.req_id IN (SELECT req_id FROM reqs)
      UNION ALL
      SELECT pg_notify(${BUS_CHANNEL}, n)
      FROM json_array_elements_text(${p.notes}::text::json) AS n)
    SELECT
      (SELECT coalesce(json_agg(run_id), '[]') FROM held) AS held,
      (SELECT coalesce(json_agg(req_id), '[]') FROM reqs) AS opened,
      (SELECT count(*) FROM notes) AS notified`;
  return {
    held: new Set(row.held as string[]),
    opened: new Set(row.opened as string[]),
    skipped,
  };
}
