/**
 * The PostgreSQL run store of one cluster instance. A run is written only by
 * its owner: the store keeps the epoch of every run this instance owns (it
 * started it, or claimed it with store/pg_run_owner.ts), and each write runs in
 * a transaction fenced by that epoch. A write whose epoch is stale fails, the
 * run is dropped from the owned set and `onFenced` is told, so the engine can
 * stop the run without touching what the new owner writes.
 *
 * Writes are grouped (write-behind): every write called while a batch is in
 * flight joins the next batch, which commits one transaction per run, in call
 * order. Reads wait for the writes called before them.
 *
 * Tables: `sb_runs` (record, status, owner, epoch), `sb_run_records` (steps,
 * journal entries, events and tasks of a run: kind, key, order `n`, body) and
 * `sb_tokens`. A run's operator requests are the cluster's request rows.
 *
 * @module
 */
import type { Json } from "../protocol/json.ts";
import type {
  JournalEntry,
  RequestRecord,
  RunEvent,
  RunRecord,
  StepRecord,
  TaskState,
  TokenRecord,
} from "../protocol/runs.ts";
import type { RunStore } from "./run_store.ts";
import { requestsOfRuns } from "./pg_requests.ts";
import { FencedError } from "./pg_run_owner.ts";
import type { Sql, TxSql } from "./pg_sql.ts";

/** A run store that knows which runs it owns. */
export interface PgRunStore extends RunStore {
  /** The epoch this instance holds for `runId`, or undefined when it does not own it. */
  epochOf(runId: string): number | undefined;
  /** Records a claim (before resuming a claimed run). */
  own(runId: string, epoch: number): void;
  /** Forgets a run (it ended, or was lost). */
  disown(runId: string): void;
  /** The runs this instance owns. */
  owned(): Map<string, number>;
  /** Resolves once the run's row is stored (a run started here is written behind). */
  stored(runId: string): Promise<void>;
}

/** Options of {@link createPgRunStore}. */
export interface PgRunStoreOptions {
  instanceId: string;
  /** Told once when a write finds that the run has another owner now. */
  onFenced?: (runId: string) => void;
  /** Told after a commit that stored events of a run (watchers elsewhere follow them). */
  onEvents?: (runId: string) => void;
}

type Write = (tx: TxSql) => Promise<unknown>;

interface Queued {
  runId: string | null;
  write: Write;
  /** For a new run: inserted (with epoch 1) instead of fenced. */
  insert?: boolean;
  /** An event append. */
  event?: boolean;
  done: PromiseWithResolvers<void>;
}

const KIND = { step: "step", journal: "journal", event: "event", task: "task" } as const;

/** Creates the store on `sql` (migrated). The caller owns `sql`. */
export function createPgRunStore(sql: Sql, options: PgRunStoreOptions): PgRunStore {
  const { instanceId, onFenced, onEvents } = options;
  const epochs = new Map<string, number>();
  /** The first write of runs started here, until it is stored. */
  const inserting = new Map<string, Promise<void>>();
  let queue: Queued[] = [];
  let flushing: Promise<void> | undefined;

  const lost = (runId: string) => {
    if (!epochs.has(runId)) return;
    onFenced?.(runId); // the handler disowns it
    epochs.delete(runId);
  };

  async function commitRun(runId: string | null, items: Queued[]): Promise<void> {
    try {
      await sql.begin(async (tx) => {
        // every statement is sent at once (pipelined) and checked after: a failed
        // fence or insert throws, and the transaction rolls back
        const checks: Array<PromiseLike<ArrayLike<unknown>>> = [];
        const rest: Array<PromiseLike<unknown>> = [];
        let fenced = runId === null;
        for (const item of items) {
          if (item.insert) {
            checks.push(item.write(tx) as PromiseLike<ArrayLike<unknown>>);
            continue;
          }
          if (!fenced && runId !== null) {
            fenced = true;
            const epoch = epochs.get(runId) ?? -1;
            checks.push(tx`SELECT 1 FROM sb_runs
              WHERE run_id = ${runId} AND epoch = ${epoch} AND owner = ${instanceId} FOR SHARE`);
          }
          rest.push(item.write(tx));
        }
        const [held] = await Promise.all([Promise.all(checks), Promise.all(rest)]);
        if (held.some((rows) => rows.length === 0)) throw new FencedError(runId!);
      });
      for (const item of items) item.done.resolve();
      if (runId !== null && items.some((i) => i.event)) onEvents?.(runId);
    } catch (err) {
      if (err instanceof FencedError && runId !== null) lost(runId);
      for (const item of items) item.done.reject(err);
    }
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      const byRun = new Map<string | null, Queued[]>();
      for (const item of batch) {
        const list = byRun.get(item.runId);
        if (list) list.push(item);
        else byRun.set(item.runId, [item]);
      }
      await Promise.all([...byRun].map(([runId, items]) => commitRun(runId, items)));
    }
    flushing = undefined;
  }

  const enqueue = (
    runId: string | null,
    write: Write,
    insert = false,
    event = false,
  ): Promise<void> => {
    const done = Promise.withResolvers<void>();
    queue.push({ runId, write, insert, event, done });
    flushing ??= Promise.resolve().then(drain);
    return done.promise;
  };

  const settled = async () => {
    while (flushing) await flushing;
  };

  const putRecord = (runId: string, kind: string, key: string, n: number, body: unknown) =>
    enqueue(runId, (tx) =>
      tx`INSERT INTO sb_run_records (run_id, kind, key, n, body)
        VALUES (${runId}, ${kind}, ${key}, ${n}, ${tx.json(body as Json)})
        ON CONFLICT (run_id, kind, key) DO UPDATE SET n = excluded.n, body = excluded.body`);

  const listRecords = async <T>(runId: string, kind: string, after = -1): Promise<T[]> => {
    await settled();
    const rows = await sql`SELECT body FROM sb_run_records
      WHERE run_id = ${runId} AND kind = ${kind} AND n > ${after} ORDER BY n, key`;
    return rows.map((r) => r.body as T);
  };

  return {
    epochOf: (runId) => epochs.get(runId),
    own(runId, epoch) {
      epochs.set(runId, epoch);
    },
    disown(runId) {
      epochs.delete(runId);
    },
    owned: () => new Map(epochs),
    stored: (runId) => inserting.get(runId) ?? Promise.resolve(),
    flushed: () => settled().catch(() => {}),

    putRun(run) {
      const runId = run.run_id;
      if (!epochs.has(runId)) {
        // a new run: this instance owns it from its first write, at epoch 1
        epochs.set(runId, 1);
        const inserted = enqueue(
          runId,
          (tx) =>
            tx`INSERT INTO sb_runs (run_id, status, created_at, owner, epoch, record)
            VALUES (${runId}, ${run.status}, ${run.created_at}, ${instanceId}, 1,
              ${tx.json(run as unknown as Json)})
            ON CONFLICT (run_id) DO NOTHING RETURNING 1`,
          true,
        );
        inserting.set(runId, inserted.catch(() => {}).finally(() => inserting.delete(runId)));
        return inserted;
      }
      return enqueue(
        runId,
        (tx) =>
          tx`UPDATE sb_runs SET status = ${run.status}, record = ${tx.json(run as unknown as Json)}
          WHERE run_id = ${runId}`,
      );
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
    putStep: (runId, step) => putRecord(runId, KIND.step, String(step.seq), step.seq, step),
    listSteps: (runId) => listRecords<StepRecord>(runId, KIND.step),
    putJournal: (runId, entry) => putRecord(runId, KIND.journal, entry.key, 0, entry),
    listJournal: (runId) => listRecords<JournalEntry>(runId, KIND.journal),
    appendEvent(runId, event) {
      // written once: a replayed append of the same id keeps the first
      return enqueue(
        runId,
        (tx) =>
          tx`INSERT INTO sb_run_records (run_id, kind, key, n, body)
          VALUES (${runId}, ${KIND.event}, ${String(event.id)}, ${event.id},
            ${tx.json(event as unknown as Json)})
          ON CONFLICT DO NOTHING`,
        false,
        true,
      );
    },
    listEvents: (runId, after = 0) => listRecords<RunEvent>(runId, KIND.event, after),
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
      return enqueue(runId, (tx) =>
        tx`INSERT INTO sb_tokens (nonce, handle, run_id, record)
          VALUES (${record.nonce}, ${record.handle ?? null}, ${record.run_id ?? null},
            ${tx.json(record as unknown as Json)})
          ON CONFLICT (nonce) DO UPDATE SET handle = excluded.handle, record = excluded.record`);
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
    async listLiveTokens() {
      await settled();
      const rows = await sql`SELECT t.record FROM sb_tokens t
        LEFT JOIN sb_runs r ON r.run_id = t.run_id
        WHERE t.run_id IS NULL OR r.status = 'running'`;
      return rows.map((r) => r.record as TokenRecord);
    },
  };
}
