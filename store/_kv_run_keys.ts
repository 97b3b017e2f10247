/**
 * The key layout of the Deno KV run store, below `prefix` (default `["runs"]`).
 * Values that may grow with user data (the run record with its ctx, journal
 * entries, events, tasks) are stored as a `BlobRef` (`kv_blob.ts`): a small one
 * as its JSON text, one over 64 KiB in chunks.
 *
 * - `run, <run_id>` → the run record, without its blueprint (named by
 *   `blueprint_ref`; older records hold it inline). A run that started and ended
 *   within one commit keeps its steps, events and tasks in it (`embedded`), and
 *   the nonces of its token records (written without their `run_token` mark);
 * - `blueprint, <id>` → a Blueprint object shared by runs, written once per
 *   process (`run_bp, <run_id>` in older files);
 * - `order, <created_at>, <run_id>` → its status and Blueprint id (newest-first listing);
 * - `running, <created_at>, <run_id>` → its Blueprint id while it runs (boot reads only these);
 * - `step, <run_id>, <seq>` → a {@link StepRecord};
 * - `journal, <run_id>, <step key>` → a {@link JournalEntry};
 * - `event, <run_id>, <id>` → the events from `id` on that were appended
 *   together (one event in older files), written once;
 * - `task, <task_id>` → a `TaskState`; `run_task, <run_id>, <task_id>` → a mark;
 * - `token, <nonce>` → a `TokenRecord`, indexed by `run_token, <run_id>, <nonce>`
 *   (or `free_token, <nonce>` without a run) → a mark, so boot reads only live ones;
 * - `token_handle, <handle>` → the nonce of the worker token behind a handle;
 * - `request, <run_id>, <sent_at>, <req_id>` → a `RequestRecord` (its latest state);
 * - `blob, …` → chunks (store/kv_blob.ts).
 *
 * Older files may also hold `status, <run_id>` (no longer written nor read).
 *
 * @module
 */
import type { BlueprintNorm } from "../protocol/blueprint.ts";
import type { TaskState, TokenRecord } from "../protocol/runs.ts";
import type { JournalEntry, RunEvent, RunRecord, StepRecord } from "./run_store.ts";

/**
 * The value of an index key whose value is never read (`running`, `run_task`,
 * `run_token`, `free_token`): empty bytes, which KV stores as they are (a `null`
 * goes through V8's serializer, one call a key). Older files hold `null`.
 */
export const MARK = new Uint8Array(0);

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/**
 * The value of a run's `order` key: its status and its Blueprint's id, so a list
 * scans runs without reading their records (older files hold the status alone).
 */
export function orderValue(run: RunRecord): string {
  return `${run.status}\n${run.blueprint.id}`;
}

/** The value of a run's `running` mark: its Blueprint's id (older files: empty, or `null`). */
export function runningValue(run: RunRecord): Uint8Array {
  return utf8.encode(run.blueprint.id);
}

/** The status and Blueprint id an `order` or `running` value holds (what it has of them). */
export function indexValue(value: unknown): { status?: string; blueprintId?: string } {
  if (value instanceof Uint8Array) {
    return {
      status: "running",
      blueprintId: value.length > 0 ? fromUtf8.decode(value) : undefined,
    };
  }
  if (typeof value !== "string") return {};
  const cut = value.indexOf("\n");
  return cut < 0
    ? { status: value }
    : { status: value.slice(0, cut), blueprintId: value.slice(cut + 1) };
}

/** What the record of a run stored by one commit keeps of it. */
export interface Embedded {
  steps: StepRecord[];
  events: RunEvent[];
  /** Its tasks (older files keep them under `task, <task_id>`). */
  tasks?: TaskState[];
  /** The nonces of its token records, which have no `run_token` mark. */
  tokens?: string[];
}

/** A run record as stored: its Blueprint beside it (older records hold it inline). */
export type StoredRun = Omit<RunRecord, "blueprint"> & {
  blueprint?: BlueprintNorm;
  blueprint_ref?: string;
  embedded?: Embedded;
};

/** The keys of one KV run store (see the module's list). */
export interface KvRunKeys {
  /** Where the chunks of large values go. */
  blobs: Deno.KvKey;
  /** `prefix` followed by `parts`: a key, or the prefix of a listing. */
  at(...parts: Deno.KvKeyPart[]): Deno.KvKey;
  run(runId: string): Deno.KvKey;
  order(run: RunRecord): Deno.KvKey;
  running(run: RunRecord): Deno.KvKey;
  /** A Blueprint object shared by runs. */
  blueprint(id: string): Deno.KvKey;
  /** A run's own Blueprint (older files). */
  runBlueprint(runId: string): Deno.KvKey;
  /** A run's status (older files). */
  status(runId: string): Deno.KvKey;
  step(runId: string, seq: number): Deno.KvKey;
  journal(runId: string, key: JournalEntry["key"]): Deno.KvKey;
  event(runId: string, id: number): Deno.KvKey;
  request(runId: string, sentAt: number, reqId: string): Deno.KvKey;
  task(taskId: string): Deno.KvKey;
  runTask(runId: string, taskId: string): Deno.KvKey;
  token(nonce: string): Deno.KvKey;
  /** The index key of a token record: `run_token` or `free_token`. */
  tokenIndex(record: TokenRecord): Deno.KvKey;
  tokenHandle(handle: string): Deno.KvKey;
}

/** What the reads and retention of a KV run store work with. */
export interface KvRunAccess {
  kv: Deno.Kv;
  keys: KvRunKeys;
  /** Resolves once the writes queued so far are committed. */
  idle(): Promise<void>;
}

/** The key layout below `prefix`. */
export function kvRunKeys(prefix: Deno.KvKey): KvRunKeys {
  return {
    blobs: [...prefix, "blob"],
    at: (...parts) => [...prefix, ...parts],
    run: (runId) => [...prefix, "run", runId],
    order: (run) => [...prefix, "order", run.created_at, run.run_id],
    running: (run) => [...prefix, "running", run.created_at, run.run_id],
    blueprint: (id) => [...prefix, "blueprint", id],
    runBlueprint: (runId) => [...prefix, "run_bp", runId],
    status: (runId) => [...prefix, "status", runId],
    step: (runId, seq) => [...prefix, "step", runId, seq],
    journal: (runId, key) => [...prefix, "journal", runId, key],
    event: (runId, id) => [...prefix, "event", runId, id],
    request: (runId, sentAt, reqId) => [...prefix, "request", runId, sentAt, reqId],
    task: (taskId) => [...prefix, "task", taskId],
    runTask: (runId, taskId) => [...prefix, "run_task", runId, taskId],
    token: (nonce) => [...prefix, "token", nonce],
    tokenIndex: (record) =>
      record.run_id === undefined
        ? [...prefix, "free_token", record.nonce]
        : [...prefix, "run_token", record.run_id, record.nonce],
    tokenHandle: (handle) => [...prefix, "token_handle", handle],
  };
}
