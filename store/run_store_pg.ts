/**
 * The PostgreSQL run store of one cluster instance. A run is written only by
 * its owner: the store keeps the epoch of every run this instance owns (it
 * started it, or claimed it with store/pg_run_owner.ts), and each write runs in
 * a transaction fenced by that epoch. A write whose epoch is stale fails, the
 * run is dropped from the owned set and `onFenced` is told, so the engine can
 * stop the run without touching what the new owner writes.
 *
 * Writes are grouped (write-behind): every write called while a batch is in
 * flight joins the next batch, which is one statement for all its runs
 * (store/pg_write_batch.ts): batches commit one after the other, in call order.
 * Reads wait for the writes called before them.
 *
 * Tables: `sb_runs` (record, status, owner, epoch), `sb_run_records` (steps,
 * journal entries, events and tasks of a run: kind, key, order `n`, body) and
 * `sb_tokens`. A run's operator requests are the cluster's request rows.
 *
 * @module
 */
import type {
  JournalEntry,
  RequestRecord,
  RunEvent,
  RunRecord,
  StepRecord,
  TaskState,
  TokenRecord,
} from "../protocol/runs.ts";
import type { RunHead, RunStore } from "./run_store.ts";
import { requestsOfRuns } from "./pg_requests.ts";
import { FencedError } from "./pg_run_owner.ts";
import type { Sql } from "./pg_sql.ts";
import { type BatchItem, type BatchOp, type RequestInsert, writeBatch } from "./pg_write_batch.ts";

/** A run store that knows which runs it owns. */
export interface PgRunStore extends RunStore {
  /** The epoch this instance holds for `runId`, or undefined when it does not own it. */
  epochOf(runId: string): number | undefined;
  /** True while this instance owns `runId` because it started it (not a claimed run). */
  startedHere(runId: string): boolean;
  /** Records a claim (before resuming a claimed run). */
  own(runId: string, epoch: number): void;
  /** Forgets a run (it ended, or was lost). */
  disown(runId: string): void;
  /** The runs this instance owns. */
  owned(): Map<string, number>;
  /** Resolves once the run's row is stored (a run started here is written behind). */
  stored(runId: string): Promise<void>;
  /**
   * Opens an operator request of a run owned here with the run's next batch
   * (fenced like its other writes, announced on the bus with the commit).
   * Resolves `stored` once stored, `taken` when the run already had a request
   * with its dedupe key, `skipped` when the batch ended its run (no row: the
   * request ends with the run); rejects with {@link FencedError} when the run
   * is lost.
   */
  queueRequest(row: RequestInsert): Promise<"stored" | "taken" | "skipped">;
  /**
   * True when a request row of `runId` may be in the table: one of its batches
   * stored one, or {@link noteRequestRow} was told. (A batch that ends a run
   * leaves its requests out, so a short run started here often has none.)
   */
  hasRequestRows(runId: string): boolean;
  /** Notes a request row of `runId` written outside the batches. */
  noteRequestRow(runId: string): void;
  /** Forgets what {@link hasRequestRows} knows of `runId` (its rows were deleted). */
  forgetRequestRows(runId: string): void;
  /**
   * Another instance follows the events of `runId` (owned here) for the next
   * `ms`: the batches that store its events say so on the bus.
   */
  followed(runId: string, ms: number): void;
}

/** Options of {@link createPgRunStore}. */
export interface PgRunStoreOptions {
  instanceId: string;
  /** The pool the write-behind batches go through (default: `sql`). */
  writer?: Sql;
  /** Told once when a write finds that the run has another owner now. */
  onFenced?: (runId: string) => void;
}

interface Queued extends BatchItem {
  done: PromiseWithResolvers<void>;
}

/** Runs in a batch from which the next batch waits for more writes (group commit). */
const GATHER_RUNS = 3;

/** Thrown into a queued request whose dedupe key was taken. */
class Taken extends Error {}

/** Thrown into a queued request left out by the batch that ended its run. */
class Skipped extends Error {}

const KIND = { step: "step", journal: "journal", event: "event", task: "task" } as const;

/** Creates the store on `sql` (migrated). The caller owns `sql`. */
export function createPgRunStore(sql: Sql, options: PgRunStoreOptions): PgRunStore {
  const { instanceId, onFenced } = options;
  const epochs = new Map<string, number>();
  /** Runs started here (owned from their first write, at epoch 1). */
  const started = new Set<string>();
  /** The first write of runs started here, until it is stored. */
  const inserting = new Map<string, Promise<void>>();
  let queue: Queued[] = [];
  let flushing: Promise<void> | undefined;
  /** Runs with a request row in the table, as far as this instance wrote them. */
  const requestRows = new Set<string>();
  /** Runs followed elsewhere, until when (ms). */
  const followers = new Map<string, number>();
  const isFollowed = (runId: string) => {
    const until = followers.get(runId);
    if (until === undefined) return false;
    if (until >= Date.now()) return true;
    followers.delete(runId);
    return false;
  };

  const lost = (runId: string) => {
    started.delete(runId);
    if (!epochs.has(runId)) return;
    onFenced?.(runId); // the handler disowns it
    epochs.delete(runId);
  };

  /** Writes `items` as one statement; a failed statement of several runs is retried per run. */
  async function commit(items: Queued[]): Promise<void> {
    let outcome;
    try {
      outcome = await writeBatch(
        options.writer ?? sql,
        instanceId,
        items,
        (id) => epochs.get(id),
        isFollowed,
      );
    } catch (err) {
      const byRun = new Map<string | null, Queued[]>();
      for (const item of items) {
        const list = byRun.get(item.runId);
        if (list) list.push(item);
        else byRun.set(item.runId, [item]);
      }
      if (byRun.size > 1) {
        // one run's bad write must not fail the others
        await Promise.all([...byRun.values()].map(commit));
        return;
      }
      for (const item of items) item.done.reject(err);
      return;
    }
    const fenced = new Set<string>();
    for (const item of items) {
      if (item.runId !== null && !outcome.held.has(item.runId)) {
        fenced.add(item.runId);
        item.done.reject(new FencedError(item.runId));
      } else if (item.op.t === "request" && !outcome.opened.has(item.op.row.req_id)) {
        // left out with its run's end: nothing to store, nobody else knows of it
        item.done.reject(outcome.skipped.has(item.op.row.req_id) ? new Skipped() : new Taken());
      } else {
        if (item.op.t === "request") requestRows.add(item.op.row.run_id);
        item.done.resolve();
      }
    }
    for (const runId of fenced) lost(runId);
  }

  /** The batch being committed, until it is (retries included). */
  let inflight: Promise<void> | undefined;
  /** A request waits for the queued writes (its frame goes out once its row is stored). */
  let hurry = false;
  /** Ends the wait for more writes now (undefined while there is no such wait). */
  let startNow: (() => void) | undefined;

  /**
   * Waits for more writes to join the next batch: until the next macrotask
   * (about 1 ms), or one turn once a request waits for them ({@link hurry}).
   */
  const gather = () =>
    new Promise<void>((resolve) => {
      if (hurry) return void setImmediate(resolve);
      const timer = setTimeout(resolve, 0);
      startNow = () => {
        clearTimeout(timer);
        // the next turn, not now: the frame or the response of whoever hurried
        // goes out before the batch is built
        setImmediate(resolve);
      };
    }).finally(() => {
      startNow = undefined;
    });

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      hurry = false;
      inflight = commit(batch);
      await inflight;
      inflight = undefined;
      if (queue.length === 0) break;
      // Group commit under load: when the batch just written held runs of
      // several clients (three or more), the writes of the next turns join the
      // next batch while nobody waits for them (two instances each get half the
      // runs: without the wait their batches were half as large, and a run cost
      // twice the statements). A lone client (its run's end and the next one's
      // start) goes on after one turn: a wait there only lands on its next request.
      if (runsOf(batch) >= GATHER_RUNS) await gather();
      else await new Promise((resolve) => setImmediate(resolve));
    }
    flushing = undefined;
  }

  /** How many runs a batch writes, counted up to {@link GATHER_RUNS}. */
  const runsOf = (batch: Queued[]) => {
    const seen = new Set<string | null>();
    for (const q of batch) {
      seen.add(q.runId);
      if (seen.size >= GATHER_RUNS) break;
    }
    return seen.size;
  };

  /** Queues a write; `urgent` starts the next batch without waiting for more. */
  const enqueue = (runId: string | null, op: BatchOp, urgent = false): Promise<void> => {
    const done = Promise.withResolvers<void>();
    queue.push({ runId, op, done });
    // the first batch waits too: what a run does at once (its start, its first
    // steps) goes in one statement
    flushing ??= gather().then(drain);
    if (urgent) hasten();
    return done.promise;
  };

  /** A request waits for the queued writes: the next batch goes after one turn. */
  const hasten = () => {
    hurry = true;
    startNow?.();
  };

  /**
   * Resolves once every write queued so far is committed (or failed): the
   * queued ones go in the next batch, which starts once the one in flight is done.
   */
  const settled = async () => {
    const last = queue.at(-1);
    if (last === undefined) return await inflight?.catch(() => {});
    await last.done.promise.catch(() => {});
  };

  const putRecord = (runId: string, kind: string, key: string, n: number, body: unknown) =>
    enqueue(runId, { t: "record", kind, key, n, body });

  /**
   * A run's records of one kind, in order: its rows, and the items of its row's
   * bundle (a run that started and ended in one batch). Should a key be in both
   * (a write after the run ended), the row wins, and for an event the bundle (an
   * event is written once).
   */
  const listRecords = async <T>(runId: string, kind: string, after = -1): Promise<T[]> => {
    await settled();
    const rows = await sql`
      SELECT body, n, key, false AS bundled FROM sb_run_records
        WHERE run_id = ${runId} AND kind = ${kind} AND n > ${after}
      UNION ALL
      SELECT x.body, x.n, x.key, true FROM sb_runs r
        CROSS JOIN json_to_recordset(r.bundle) AS x(kind text, key text, n bigint, body json)
        WHERE r.run_id = ${runId} AND r.bundle IS NOT NULL AND x.kind = ${kind} AND x.n > ${after}
      ORDER BY 2, 3`;
    if (!rows.some((r) => r.bundled)) return rows.map((r) => r.body as T);
    const winner = new Map<string, boolean>(); // key → from the bundle
    for (const r of rows) {
      const key = r.key as string;
      if (!winner.has(key) || (r.bundled === (kind === KIND.event))) winner.set(key, r.bundled);
    }
    return rows.filter((r) => winner.get(r.key) === r.bundled).map((r) => r.body as T);
  };

  return {
    epochOf: (runId) => epochs.get(runId),
    startedHere: (runId) => started.has(runId),
    followed(runId, ms) {
      followers.set(runId, Date.now() + ms);
    },
    own(runId, epoch) {
      epochs.set(runId, epoch);
    },
    disown(runId) {
      epochs.delete(runId);
      started.delete(runId);
      followers.delete(runId);
      requestRows.delete(runId); // its rows are its owner's now (or dropped with its end)
    },
    owned: () => new Map(epochs),
    stored: (runId) => inserting.get(runId) ?? Promise.resolve(),
    flushed: () => settled().catch(() => {}),

    putRun(run) {
      const runId = run.run_id;
      if (!epochs.has(runId)) {
        // a new run: this instance owns it from its first write, at epoch 1
        epochs.set(runId, 1);
        started.add(runId);
        const inserted = enqueue(runId, { t: "insert", run });
        inserting.set(runId, inserted.catch(() => {}).finally(() => inserting.delete(runId)));
        return inserted;
      }
      return enqueue(runId, { t: "run", run });
    },
    async getRun(runId) {
      await settled();
      const [row] = await sql`SELECT record FROM sb_runs WHERE run_id = ${runId}`;
      return row?.record as RunRecord | undefined;
    },
    async listRuns({ limit, status }) {
      await settled();
      const cap = Math.min(limit, 1_000_000);
      const rows = status === undefined
        ? await sql`SELECT record FROM sb_runs ORDER BY created_at DESC, run_id DESC LIMIT ${cap}`
        : await sql`SELECT record FROM sb_runs WHERE status = ${status}
          ORDER BY created_at DESC, run_id DESC LIMIT ${cap}`;
      return rows.map((r) => r.record as RunRecord);
    },
    async listRunHeads({ limit, status }) {
      await settled();
      const cap = Math.min(limit, 1_000_000);
      // the record stays in the database: only what a list scans by
      const head = sql`jsonb_build_object('run_id', run_id, 'status', status,
        'created_at', created_at, 'blueprint_id', record->'blueprint'->>'id')`;
      const rows = status === undefined
        ? await sql`SELECT ${head} AS head FROM sb_runs
          ORDER BY created_at DESC, run_id DESC LIMIT ${cap}`
        : await sql`SELECT ${head} AS head FROM sb_runs WHERE status = ${status}
          ORDER BY created_at DESC, run_id DESC LIMIT ${cap}`;
      return rows.map((r) => r.head as RunHead);
    },
    putStep: (runId, step) => putRecord(runId, KIND.step, String(step.seq), step.seq, step),
    listSteps: (runId) => listRecords<StepRecord>(runId, KIND.step),
    putJournal: (runId, entry) => putRecord(runId, KIND.journal, entry.key, 0, entry),
    listJournal: (runId) => listRecords<JournalEntry>(runId, KIND.journal),
    appendEvent(runId, event) {
      // written once: a replayed append of the same id keeps the first
      return enqueue(runId, { t: "event", event });
    },
    listEvents: (runId, after = 0) => listRecords<RunEvent>(runId, KIND.event, after),
    hasRequestRows: (runId) => requestRows.has(runId),
    noteRequestRow(runId) {
      requestRows.add(runId);
    },
    forgetRequestRows(runId) {
      requestRows.delete(runId);
    },
    queueRequest(row) {
      // someone waits for a pending request's frame: its batch goes now
      return enqueue(row.run_id, { t: "request", row }, row.state === "pending").then(
        () => "stored" as const,
        (err) => {
          if (err instanceof Taken) return "taken" as const;
          if (err instanceof Skipped) return "skipped" as const;
          throw err;
        },
      );
    },
    putRequest() {
      // a cluster's requests are rows of their own (store/pg_requests.ts), written
      // (fenced) by the seat that opens, settles or cancels them
      return Promise.resolve();
    },
    async listRequests(runId) {
      const rows = await requestsOfRuns(sql, [runId]);
      return rows.flatMap((r): RequestRecord[] => {
        if (r.kind === "ha") return [];
        const { settled_by: _s, cancel_reason: _c, ...record } = r;
        return [{ ...record, kind: r.kind }];
      });
    },
    putTask: (task) => putRecord(task.run_id, KIND.task, task.id, task.created_at, task),
    async getTask(taskId) {
      await settled();
      const [row] = await sql`SELECT body FROM sb_run_records
        WHERE kind = ${KIND.task} AND key = ${taskId}`;
      return row?.body as TaskState | undefined;
    },
    listTasks: (runId) => listRecords<TaskState>(runId, KIND.task),
    putToken(record) {
      const runId = record.run_id !== undefined && epochs.has(record.run_id) ? record.run_id : null;
      return enqueue(runId, { t: "token", record, fenced: runId !== null });
    },
    async getToken(nonce) {
      await settled();
      const [row] = await sql`SELECT record FROM sb_tokens WHERE nonce = ${nonce}`;
      return row?.record as TokenRecord | undefined;
    },
    async getTokenByHandle(handle) {
      await settled();
      const [row] = await sql`SELECT record FROM sb_tokens WHERE handle = ${handle}`;
      return row?.record as TokenRecord | undefined;
    },
    async pruneEnded(before, limit) {
      await settled();
      return await sql.begin(async (tx) => {
        const rows = await tx`SELECT run_id FROM sb_runs
          WHERE status <> 'running' AND (record->>'finished_at')::bigint < ${before}
          ORDER BY (record->>'finished_at')::bigint LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
        const ids = rows.map((r) => r.run_id as string);
        if (ids.length === 0) return 0;
        await tx`DELETE FROM sb_run_records WHERE run_id = ANY(${ids})`;
        await tx`DELETE FROM sb_requests WHERE run_id = ANY(${ids})`;
        await tx`DELETE FROM sb_tokens WHERE run_id = ANY(${ids})`;
        await tx`DELETE FROM sb_runs WHERE run_id = ANY(${ids})`;
        return ids.length;
      });
    },
    async pruneExpiredTokens(before, limit) {
      await settled();
      const rows = await sql`DELETE FROM sb_tokens WHERE nonce IN (
        SELECT nonce FROM sb_tokens WHERE run_id IS NULL
          AND (record->>'expire_at')::bigint < ${before} LIMIT ${limit})
        RETURNING nonce`;
      return rows.length;
    },
    async listLiveTokens() {
      await settled();
      const rows = await sql`SELECT t.record FROM sb_tokens t
        LEFT JOIN sb_runs r ON r.run_id = t.run_id
        WHERE t.run_id IS NULL OR r.status = 'running'`;
      return rows.map((r) => r.record as TokenRecord);
    },
  };
}
