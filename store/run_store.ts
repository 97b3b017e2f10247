/**
 * Persistence of runs: the run record (with its ctx checkpoint), its steps, its
 * step journal (used to resume after a restart), its event log (SSE replay), its
 * tasks and the token records minted for them.
 *
 * @module
 */
import type {
  JournalEntry,
  RequestRecord,
  RunEvent,
  RunRecord,
  RunStatus,
  StepRecord,
  TaskState,
  TokenRecord,
} from "../protocol/runs.ts";
import { sentOrder } from "../protocol/runs.ts";

export type {
  JournalEntry,
  RequestRecord,
  RunEvent,
  RunOperator,
  RunRecord,
  RunStatus,
  StepRecord,
  StepVerdict,
  TtlSource,
} from "../protocol/runs.ts";

/** What a run list scans a run by (see `listRunHeads`): its id, status, start and Blueprint id. */
export type RunHead = Pick<RunRecord, "run_id" | "status" | "created_at"> & {
  blueprint_id: string;
};

/** The head of a run record. */
export function runHead(record: RunRecord): RunHead {
  const { run_id, status, created_at, blueprint } = record;
  return { run_id, status, created_at, blueprint_id: blueprint.id };
}

/**
 * Where runs live: each run's journal (record and ctx checkpoint, steps, step
 * outcomes, events, tasks, operator requests) and the token records.
 *
 * Writes are applied in the order they are called, so a caller issues them
 * without awaiting each one (write-behind): a crash loses only a suffix. A
 * write's promise settles once it is durable, and never before the promises of
 * the writes called before it; reads see every write called before them.
 */
export interface RunStore {
  /** Resolves once every write called so far is durable (never rejects). */
  flushed(): Promise<void>;
  /**
   * Writes a run record. `created` marks the first write of a run this process
   * started: its records are new to the store (a KV store skips reading and
   * checking what they replace until the run ends).
   */
  putRun(run: RunRecord, options?: { created?: boolean }): Promise<void>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Newest first. */
  listRuns(options: { limit: number; status?: RunStatus }): Promise<RunRecord[]>;
  /**
   * Newest first, each run's id, status, start and Blueprint id, read from an
   * index where the store has one (a record may hold 30 MiB of ctxs): what a list
   * scans to filter and page runs, then reads the page in full.
   */
  listRunHeads(options: { limit: number; status?: RunStatus }): Promise<RunHead[]>;
  putStep(runId: string, step: StepRecord): Promise<void>;
  listSteps(runId: string): Promise<StepRecord[]>;
  putJournal(runId: string, entry: JournalEntry): Promise<void>;
  listJournal(runId: string): Promise<JournalEntry[]>;
  appendEvent(runId: string, event: RunEvent): Promise<void>;
  /** Events with `id > after`, in order. */
  listEvents(runId: string, after?: number): Promise<RunEvent[]>;
  /** An operator request of a run, in its latest state. */
  putRequest(runId: string, request: RequestRecord): Promise<void>;
  /** A run's operator requests in the order first sent. */
  listRequests(runId: string): Promise<RequestRecord[]>;
  putTask(task: TaskState): Promise<void>;
  /**
   * A task by id; `runId`, when the caller knows it, also finds a task a store
   * keeps inside its run's record (KV: a run stored by one commit).
   */
  getTask(taskId: string, runId?: string): Promise<TaskState | undefined>;
  listTasks(runId: string): Promise<TaskState[]>;
  putToken(record: TokenRecord): Promise<void>;
  /** One token record by nonce (any run, ended or not). */
  getToken(nonce: string): Promise<TokenRecord | undefined>;
  /** The token record behind a worker handle. */
  getTokenByHandle(handle: string): Promise<TokenRecord | undefined>;
  /** Token records of runs that are still running (and of no run). */
  listLiveTokens(): Promise<TokenRecord[]>;
  /**
   * Deletes up to `limit` ended runs that finished before `before` (epoch ms),
   * oldest first, with everything of theirs: steps, journal, events, requests,
   * tasks and tokens. Resolves with how many were deleted (retention).
   */
  pruneEnded(before: number, limit: number): Promise<number>;
  /**
   * Deletes up to `limit` token records of no run (session tokens) that expired
   * before `before` (unix seconds). Resolves with how many were deleted.
   */
  pruneExpiredTokens(before: number, limit: number): Promise<number>;
}

/** Everything a run's journal holds beside its record (read once to resume it). */
export interface RunJournal {
  steps: StepRecord[];
  entries: JournalEntry[];
  events: RunEvent[];
  tasks: TaskState[];
  requests: RequestRecord[];
}

/** Reads a run's journal. */
export async function readRunJournal(store: RunStore, runId: string): Promise<RunJournal> {
  const [steps, entries, events, tasks, requests] = await Promise.all([
    store.listSteps(runId),
    store.listJournal(runId),
    store.listEvents(runId),
    store.listTasks(runId),
    store.listRequests(runId),
  ]);
  return { steps, entries, events, tasks, requests };
}

/** True for a token record of no run (a session's) that expired before `before` (unix seconds). */
export function expiredFree(record: TokenRecord, before: number): boolean {
  return record.run_id === undefined && record.expire_at !== undefined &&
    record.expire_at < before;
}

/** Ended runs an in-memory store keeps; older ones are forgotten whole, oldest ending first. */
export const MEMORY_ENDED_RUNS_MAX = 10_000;

/**
 * Estimated bytes of ended runs (their ctxs, steps, journal and events) an in-memory
 * store keeps: 10,000 runs of 2 MB ctxs each would be 20 GB.
 */
export const MEMORY_ENDED_BYTES_MAX = 256 * 1024 * 1024;

/**
 * The bytes a JSON-like record holds in memory, roughly and from above: two a
 * character, nine a number, sixteen an object or array, and eight more a string
 * or key (never less than KV's estimate of the same value). One walk without
 * allocations: at a run's end, a tenth of what `kvSizeEstimate` costs.
 */
function heldBytes(value: unknown): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") size += 8 + 2 * v.length;
    else if (typeof v !== "object" || v === null) size += 9;
    else if (Array.isArray(v)) {
      size += 16;
      for (let i = 0; i < v.length; i++) stack.push(v[i]);
    } else {
      size += 16;
      for (const k in v) {
        size += 8 + 2 * k.length;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return size;
}

/**
 * A run store in memory (tests and `:memory:`). Tasks are kept by reference (the
 * engine's live objects), everything else as shallow copies. It keeps the newest
 * `maxEnded` ended runs: a long-lived `:memory:` server does not grow without end
 * (and its collector does not mark every run it ever served).
 */
export function createMemoryRunStore(
  maxEnded = MEMORY_ENDED_RUNS_MAX,
  maxEndedBytes = MEMORY_ENDED_BYTES_MAX,
): RunStore {
  const runs = new Map<string, RunRecord>();
  const steps = new Map<string, Map<number, StepRecord>>();
  const journal = new Map<string, Map<string, JournalEntry>>();
  const events = new Map<string, RunEvent[]>();
  const tasks = new Map<string, TaskState>();
  const tasksByRun = new Map<string, Set<string>>();
  const tokens = new Map<string, TokenRecord>();
  const tokenHandles = new Map<string, string>();
  const requests = new Map<string, Map<string, RequestRecord>>();
  const tokensByRun = new Map<string, Set<string>>();
  /** Runs started through this store that still run: what only a resume reads goes at their end. */
  const started = new Set<string>();
  /** Ended runs in the order they ended (a Map keeps insertion order), with their bytes. */
  const ended = new Map<string, number>();
  let endedBytes = 0;
  /** The bytes of each Blueprint object (runs of one Blueprint share it: walked once). */
  const blueprintBytes = new WeakMap<object, number>();
  // an upper bound (shared parts of the ctxs, and a shared Blueprint, count each time)
  const bytesOf = (run: RunRecord): number => {
    const id = run.run_id;
    const { blueprint, ...rest } = run;
    let b = blueprintBytes.get(blueprint);
    if (b === undefined) blueprintBytes.set(blueprint, b = heldBytes(blueprint));
    let n = b + heldBytes(rest);
    for (const s of steps.get(id)?.values() ?? []) n += heldBytes(s);
    for (const e of journal.get(id)?.values() ?? []) n += heldBytes(e);
    for (const e of events.get(id) ?? []) n += heldBytes(e);
    return n;
  };
  const forget = (id: string) => {
    endedBytes -= ended.get(id) ?? 0;
    runs.delete(id);
    steps.delete(id);
    journal.delete(id);
    events.delete(id);
    requests.delete(id);
    ended.delete(id);
    started.delete(id);
    for (const taskId of tasksByRun.get(id) ?? []) tasks.delete(taskId);
    tasksByRun.delete(id);
    for (const nonce of tokensByRun.get(id) ?? []) {
      const handle = tokens.get(nonce)?.handle;
      if (handle) tokenHandles.delete(handle);
      tokens.delete(nonce);
    }
    tokensByRun.delete(id);
  };
  const inner = <K, V>(map: Map<string, Map<K, V>>, id: string) => {
    let m = map.get(id);
    if (!m) map.set(id, m = new Map());
    return m;
  };
  const done = Promise.resolve();
  /** Runs of `status` (any when undefined), newest first, at most `limit`. */
  const newestRuns = ({ limit, status }: { limit: number; status?: RunStatus }) => {
    const all = [...runs.values()].filter((r) => status === undefined || r.status === status);
    all.sort((a, b) => b.created_at - a.created_at || (a.run_id < b.run_id ? 1 : -1));
    return all.slice(0, limit);
  };
  return {
    flushed: () => done,
    putRun(run, options = {}) {
      runs.set(run.run_id, { ...run });
      if (options.created) started.add(run.run_id);
      if (run.status !== "running" && !ended.has(run.run_id)) {
        if (started.delete(run.run_id)) {
          // a run this store saw start is never resumed once it has ended (as KV's)
          journal.delete(run.run_id);
          requests.delete(run.run_id);
        }
        const bytes = bytesOf(run);
        ended.set(run.run_id, bytes);
        endedBytes += bytes;
        // the run that just ended is kept, whatever its size
        while (ended.size > 1 && (ended.size > maxEnded || endedBytes > maxEndedBytes)) {
          forget(ended.keys().next().value!);
        }
      }
      return done;
    },
    getRun(runId) {
      const run = runs.get(runId);
      return Promise.resolve(run && { ...run });
    },
    listRuns(options) {
      return Promise.resolve(newestRuns(options).map((r) => ({ ...r })));
    },
    listRunHeads(options) {
      return Promise.resolve(newestRuns(options).map(runHead));
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
    putRequest(runId, request) {
      inner(requests, runId).set(request.req_id, request);
      return done;
    },
    listRequests(runId) {
      const list = [...(requests.get(runId)?.values() ?? [])];
      return Promise.resolve(list.sort(sentOrder));
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
      if (record.run_id !== undefined) {
        let set = tokensByRun.get(record.run_id);
        if (!set) tokensByRun.set(record.run_id, set = new Set());
        set.add(record.nonce);
      }
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
    pruneEnded(before, limit) {
      const old = [...runs.values()]
        .filter((r) => r.status !== "running" && (r.finished_at ?? Infinity) < before)
        .sort((a, b) => a.created_at - b.created_at)
        .slice(0, limit);
      for (const run of old) forget(run.run_id);
      return Promise.resolve(old.length);
    },
    pruneExpiredTokens(before, limit) {
      let pruned = 0;
      for (const [nonce, record] of tokens) {
        if (pruned >= limit) break;
        if (!expiredFree(record, before)) continue;
        tokens.delete(nonce);
        pruned++;
      }
      return Promise.resolve(pruned);
    },
  };
}
