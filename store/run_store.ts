/**
 * Persistence of runs: the run record (with its ctx checkpoint), its steps, its
 * step journal (used to resume after a restart), its event log (SSE replay), its
 * tasks and the token records minted for them.
 *
 * @module
 */
import type { BlueprintNorm, OperatorKind } from "../protocol/blueprint.ts";
import type { Json } from "../protocol/json.ts";
import type { TaskState } from "../engine/tasks.ts";
import type { TokenRecord } from "../engine/tokens.ts";

import type { RunStatus, StepVerdict, TtlSource } from "../protocol/tasks.ts";

export type { RunStatus, StepVerdict, TtlSource };

/** The run's operator options, resolved at start. */
export interface RunOperator {
  kind?: OperatorKind;
  id: string;
  spawn_hook_id?: string;
  senior_bridge_id?: string;
  operator_backend_id?: string;
  per_agent_kinds: Record<string, OperatorKind>;
}

/** A stored run. */
export interface RunRecord {
  run_id: string;
  status: RunStatus;
  created_at: number;
  finished_at?: number;
  /** Epoch ms when the TTL ends. */
  deadline_at: number;
  blueprint: BlueprintNorm;
  bound_version: string | null;
  effective_ttl_secs: number;
  ttl_source: TtlSource;
  operator: RunOperator;
  init_ctx: Json;
  /** The root ctx after the last finished root-scope step. */
  ctx: Json;
  final_ctx?: Json;
  error?: string;
  /** What ended a run that did not succeed. */
  error_kind?: "flow" | "ttl" | "cancelled" | "internal";
}

/** A step as listed in `GET /v1/runs/:id`. */
export interface StepRecord {
  seq: number;
  key: string;
  task_id: string;
  agent: string;
  attempt: number;
  verdict: StepVerdict;
  started_at: number;
  finished_at?: number;
  error?: string;
}

/** The outcome of a finished step, by step key. */
export type JournalEntry =
  | { key: string; ok: true; value: Json }
  | { key: string; ok: false; error: string };

/** One entry of a run's event log. */
export interface RunEvent {
  /** 1-based, gap-free per run. */
  id: number;
  type: string;
  at: number;
  data: Json;
}

/**
 * Where runs live. Writes are applied in the order they are called, so a caller
 * may issue several without awaiting each one. A write's promise settles once it
 * is stored, and never before the promises of the writes called before it; reads
 * see every write called before them.
 */
export interface RunStore {
  putRun(run: RunRecord): Promise<void>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Newest first. */
  listRuns(options: { limit: number; status?: RunStatus }): Promise<RunRecord[]>;
  putStep(runId: string, step: StepRecord): Promise<void>;
  listSteps(runId: string): Promise<StepRecord[]>;
  putJournal(runId: string, entry: JournalEntry): Promise<void>;
  listJournal(runId: string): Promise<JournalEntry[]>;
  appendEvent(runId: string, event: RunEvent): Promise<void>;
  /** Events with `id > after`, in order. */
  listEvents(runId: string, after?: number): Promise<RunEvent[]>;
  putTask(task: TaskState): Promise<void>;
  getTask(taskId: string): Promise<TaskState | undefined>;
  listTasks(runId: string): Promise<TaskState[]>;
  putToken(record: TokenRecord): Promise<void>;
  /** One token record by nonce (any run, ended or not). */
  getToken(nonce: string): Promise<TokenRecord | undefined>;
  /** The token record behind a worker handle. */
  getTokenByHandle(handle: string): Promise<TokenRecord | undefined>;
  /** Token records of runs that are still running (and of no run). */
  listLiveTokens(): Promise<TokenRecord[]>;
}

/**
 * A run store in memory (tests and `:memory:`). Tasks are kept by reference (the
 * engine's live objects), everything else as shallow copies.
 */
export function createMemoryRunStore(): RunStore {
  const runs = new Map<string, RunRecord>();
  const steps = new Map<string, Map<number, StepRecord>>();
  const journal = new Map<string, Map<string, JournalEntry>>();
  const events = new Map<string, RunEvent[]>();
  const tasks = new Map<string, TaskState>();
  const tasksByRun = new Map<string, Set<string>>();
  const tokens = new Map<string, TokenRecord>();
  const tokenHandles = new Map<string, string>();
  const inner = <K, V>(map: Map<string, Map<K, V>>, id: string) => {
    let m = map.get(id);
    if (!m) map.set(id, m = new Map());
    return m;
  };
  const done = Promise.resolve();
  return {
    putRun(run) {
      runs.set(run.run_id, { ...run });
      return done;
    },
    getRun(runId) {
      const run = runs.get(runId);
      return Promise.resolve(run && { ...run });
    },
    listRuns({ limit, status }) {
      const all = [...runs.values()].filter((r) => status === undefined || r.status === status);
      all.sort((a, b) => b.created_at - a.created_at || (a.run_id < b.run_id ? 1 : -1));
      return Promise.resolve(all.slice(0, limit).map((r) => ({ ...r })));
    },
    putStep(runId, step) {
      inner(steps, runId).set(step.seq, { ...step });
      return done;
    },
    listSteps(runId) {
      const list = [...(steps.get(runId)?.values() ?? [])].map((s) => ({ ...s }));
      return Promise.resolve(list.sort((a, b) => a.seq - b.seq));
    },
    putJournal(runId, entry) {
      inner(journal, runId).set(entry.key, entry);
      return done;
    },
    listJournal(runId) {
      return Promise.resolve([...(journal.get(runId)?.values() ?? [])]);
    },
    appendEvent(runId, event) {
      let list = events.get(runId);
      if (!list) events.set(runId, list = []);
      // written once, as in KV: a replayed append of the same id keeps the first
      const last = list.at(-1);
      if (last && last.id >= event.id && list.some((e) => e.id === event.id)) return done;
      list.push(event);
      return done;
    },
    listEvents(runId, after = 0) {
      return Promise.resolve((events.get(runId) ?? []).filter((e) => e.id > after));
    },
    putTask(task) {
      tasks.set(task.id, task);
      let set = tasksByRun.get(task.run_id);
      if (!set) tasksByRun.set(task.run_id, set = new Set());
      set.add(task.id);
      return done;
    },
    getTask(taskId) {
      const task = tasks.get(taskId);
      return Promise.resolve(task);
    },
    listTasks(runId) {
      const ids = [...(tasksByRun.get(runId) ?? [])];
      return Promise.resolve(ids.map((id) => tasks.get(id)!));
    },
    putToken(record) {
      tokens.set(record.nonce, { ...record });
      if (record.handle) tokenHandles.set(record.handle, record.nonce);
      return done;
    },
    getToken(nonce) {
      const record = tokens.get(nonce);
      return Promise.resolve(record && { ...record });
    },
    getTokenByHandle(handle) {
      const nonce = tokenHandles.get(handle);
      const record = nonce === undefined ? undefined : tokens.get(nonce);
      return Promise.resolve(record && { ...record });
    },
    listLiveTokens() {
      const live = [...tokens.values()].filter((t) =>
        t.run_id === undefined || runs.get(t.run_id)?.status === "running"
      );
      return Promise.resolve(live.map((t) => ({ ...t })));
    },
  };
}
