/**
 * The run engine behind engine/mod.ts: it holds the live runs and hands out
 * the door's operations. Each run's journal (steps, requests, events, ctx
 * checkpoints, tasks, tokens) is written behind the run through the store, in
 * call order and without waiting; what confirms something to a client
 * (`202`, a worker's `204`, a `pong`) waits for {@link Engine.durable} first.
 *
 * @module
 */
import type { BlueprintNorm } from "../protocol/blueprint.ts";
import type { Json } from "../protocol/json.ts";
import type { RequestRecord, RunOperator, RunRecord, TtlSource } from "../protocol/runs.ts";
import type { RunStatus } from "../protocol/tasks.ts";
import type { WorkerPayload } from "../protocol/worker.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import type { Logger } from "../observe/log.ts";
import type { Metrics } from "../observe/metrics.ts";
import { readRunJournal, type RunStore } from "../store/run_store.ts";
import { type FaceRegistries, type RequestJournal, RunEnded } from "./faces.ts";
import { randomHex } from "./crypto.ts";
import type { TaskState } from "./tasks.ts";
import type { TokenAuthority } from "./tokens.ts";
import type { LiveRun, RunHost } from "./run_types.ts";
import type { WorkerFn } from "./workers/function.ts";
import type { WebhookConfig } from "./workers/webhook.ts";
import type { ChildReaper } from "./workers/child_reaper.ts";
import { begin, launch, type LifecycleEnv, resume } from "./lifecycle.ts";
import type { RunBudgets } from "./flow/mod.ts";
import { recordRequest } from "./requests.ts";
import { createDeadlines } from "./deadlines.ts";
import type { RunEvent } from "../protocol/runs.ts";
import { type RunView, runView } from "./views.ts";
import { requestsOf } from "./request_audit.ts";
import { findTask, type PostedResult, postResult, workerPrompt } from "./worker_results.ts";
import { jsonBytes } from "./expr/json_bytes.ts";

/** What the engine needs. */
export interface EngineDeps {
  registries: FaceRegistries;
  functions: ReadonlyMap<string, WorkerFn>;
  webhooks: ReadonlyMap<string, WebhookConfig>;
  tokens: TokenAuthority;
  store: RunStore;
  log: Logger;
  metrics: Metrics;
  now(): number;
  publicUrl: string;
  /** Runs `subprocess` agents (`SWITCHBOARD_ALLOW_SUBPROCESS=1`). */
  allowSubprocess?: boolean;
  /** Ends the subprocess agents' children if the server dies without exiting. */
  childReaper?: ChildReaper;
  workerTokenTtlSecs?: number;
  workerTokenMaxUses?: number | null;
  /** Each run's budgets (ctx size, loop passes, …); missing ones take the defaults. */
  budgets?: Partial<RunBudgets>;
  /** Stops of the server while a run executes before it is quarantined (default 3). */
  maxStops?: number;
  /** Told once a run has ended, with the seats that held its requests. */
  onRunEnded?(runId: string, sids: ReadonlySet<string>): void;
  /** Told at resume about a run's requests still pending or settled. */
  onRequestsRecovered?(requests: RequestRecord[]): void;
  /**
   * Reads the cluster's seats again (a cluster): an `ask` whose `to` no seat here
   * holds tries once more after it, since a seat minted a moment ago on another
   * instance may not have reached this one.
   */
  syncSeats?(): Promise<void>;
}

/** What starting a run takes. */
export interface StartRunRequest {
  blueprint: BlueprintNorm;
  boundVersion: string | null;
  initCtx: Json;
  ttlSecs: number;
  ttlSource: TtlSource;
  operator: RunOperator;
  /** The run's id, when it was chosen before the start (its own seats are scoped to it). */
  runId?: string;
}

/** A run just started. */
export interface StartedRun {
  run_id: string;
  status: RunStatus;
  /** Resolves with the final record when the run ends. */
  done: Promise<RunRecord>;
  /** Resolves once the run's start is durable (what a `202` confirms). */
  durable: Promise<void>;
}

/** The engine's counters. */
export interface EngineStats {
  live_runs: number;
  live_tasks: number;
  /** Bytes of JSON of the initial ctxs of the runs in progress started here. */
  live_init_ctx_bytes: number;
}

/** The longest TTL a run may have (10 years). */
export const MAX_TTL_SECS = 10 * 365 * 86400;

// Where this process's run ids start counting: random, below 2^31, so 2^31 runs
// go by before the 8-hex count wraps.
let runCount = crypto.getRandomValues(new Uint32Array(1))[0] >>> 1;

/**
 * A new run id: `run-` + 20 lowercase hex, a count (8) then random (12). Ids of
 * one process sort in the order they were made, and the stores list runs by
 * `created_at`, then `run_id`, so runs started in the same millisecond still
 * list newest first.
 */
export function newRunId(): string {
  const count = (runCount++ >>> 0).toString(16).padStart(8, "0");
  return `run-${count}${randomHex(6)}`;
}

/** The engine, as routes, boot and tests see it. */
export interface Engine {
  /** Starts a run (throws `CompileError` before anything is stored); it goes on in the background. */
  start(req: StartRunRequest): StartedRun;
  /** Resumes a stored running run after a restart; false when it could not be. */
  resume(record: RunRecord): Promise<boolean>;
  /** A run as the API shows it (live or stored). */
  view(runId: string): Promise<RunView | undefined>;
  /**
   * Runs newest first, each with its steps, read ten at a time; stops before the
   * first view `fits` refuses (a list's size bound).
   */
  list(limit: number, status?: RunStatus, fits?: (view: RunView) => boolean): Promise<RunView[]>;
  /** Cancels a live run and answers it as it ended. Throws `not_found`, or `gone` when it had ended. */
  cancel(runId: string): Promise<RunView>;
  /** A run's events after `after`, then live ones until it ends; undefined for an unknown run. */
  watch(
    runId: string,
    after: number,
    options?: { signal?: AbortSignal },
  ): Promise<AsyncIterableIterator<RunEvent> | undefined>;
  /** The prompt of a task's current attempt. Throws `not_found` / `gone`. */
  prompt(taskId: string): Promise<WorkerPayload>;
  /** A task of a live run, or a stored one (`runId` also finds one its run's record keeps). */
  task(taskId: string, runId?: string): Promise<TaskState | undefined>;
  /** Posts a worker's final; resolves once it is durable. Throws 404/409/410 errors. */
  postResult(posted: PostedResult): Promise<void>;
  /** Waits for a live run to end; undefined when it is not live. */
  settled(runId: string): Promise<RunRecord | undefined>;
  /** Waits until every run live now has ended. */
  allSettled(): Promise<void>;
  /** Cancels every live run and waits for them to end (tests, embedding). */
  stopAll(): Promise<void>;
  /** Where operator seats report their requests of runs. */
  requests: RequestJournal;
  stats(): EngineStats;
  /** Resolves once every write issued so far is durable. */
  durable(): Promise<void>;
}

/** The stored events of an ended run, as a watch. */
async function* replay(events: RunEvent[]): AsyncIterableIterator<RunEvent> {
  yield* events;
}

/** Creates the engine. */
export function createEngine(deps: EngineDeps): Engine {
  const live = new Map<string, LiveRun>();
  const host: RunHost = {
    registries: deps.registries,
    tokens: deps.tokens,
    store: deps.store,
    log: deps.log,
    now: deps.now,
    tasks: new Map(),
    finalWaiters: new Map(),
    workerTokenTtlSecs: deps.workerTokenTtlSecs ?? 1800,
    workerTokenMaxUses: deps.workerTokenMaxUses ?? null,
    syncSeats: deps.syncSeats,
    write(runId, write) {
      let issued: Promise<void>;
      try {
        issued = write();
      } catch (err) {
        issued = Promise.reject(err);
      }
      issued.catch((err) => {
        deps.log.error("run store write failed", { run_id: runId, error: String(err) });
      });
    },
  };
  const env: LifecycleEnv = {
    host,
    live,
    logEnv: {
      now: deps.now,
      store: (runId, event) => deps.store.appendEvent(runId, event),
    },
    deadline: createDeadlines(deps.now),
    compiled: new WeakMap(),
    metrics: deps.metrics,
    functions: deps.functions,
    webhooks: deps.webhooks,
    publicUrl: deps.publicUrl,
    allowSubprocess: deps.allowSubprocess,
    childReaper: deps.childReaper,
    onRunEnded: deps.onRunEnded,
    onRequestsRecovered: deps.onRequestsRecovered,
    budgets: deps.budgets,
    maxStops: deps.maxStops,
  };
  const durable = () => deps.store.flushed();
  let liveInitBytes = 0;

  return {
    start(req) {
      const now = deps.now();
      const ttl = Math.min(req.ttlSecs, MAX_TTL_SECS);
      const record: RunRecord = {
        run_id: req.runId ?? newRunId(),
        status: "running",
        created_at: now,
        deadline_at: now + ttl * 1000,
        blueprint: req.blueprint,
        bound_version: req.boundVersion,
        effective_ttl_secs: req.ttlSecs,
        ttl_source: req.ttlSource,
        operator: req.operator,
        init_ctx: req.initCtx,
        ctx: req.initCtx,
      };
      const run = launch(env, record);
      begin(env, run);
      const bytes = jsonBytes(req.initCtx);
      liveInitBytes += bytes;
      run.done.finally(() => liveInitBytes -= bytes).catch(() => {});
      return {
        run_id: record.run_id,
        status: "running",
        done: run.done,
        // asked only by a caller that waits for it (POST /v1/runs), not on every start
        get durable() {
          return durable();
        },
      };
    },

    async resume(record) {
      if (live.has(record.run_id)) return true;
      const prior = await readRunJournal(deps.store, record.run_id);
      return (await resume(env, record, prior)) !== undefined;
    },

    async view(runId) {
      const run = live.get(runId);
      if (run) {
        return { ...runView(run.record, run.steps), requests: requestsOf(run.log.history()) };
      }
      const record = await deps.store.getRun(runId);
      if (!record) return undefined;
      const [steps, events] = await Promise.all([
        deps.store.listSteps(runId),
        deps.store.listEvents(runId),
      ]);
      return { ...runView(record, steps), requests: requestsOf(events) };
    },

    async list(limit, status, fits = () => true) {
      const heads = await deps.store.listRunHeads({ limit, status });
      const views: RunView[] = [];
      for (let i = 0; i < heads.length; i += 10) {
        const batch = await Promise.all(
          heads.slice(i, i + 10).map(async ({ run_id }) => {
            const run = live.get(run_id);
            if (run) return runView(run.record, run.steps);
            const record = await deps.store.getRun(run_id);
            return record && runView(record, await deps.store.listSteps(run_id));
          }),
        );
        for (const view of batch) {
          if (view === undefined) continue;
          if (!fits(view)) return views;
          views.push(view);
        }
      }
      return views;
    },

    async cancel(runId) {
      const run = live.get(runId);
      if (!run) {
        if (await deps.store.getRun(runId)) throw new SwitchboardError("gone", "run has ended");
        throw new SwitchboardError("not_found", `run not found: ${runId}`);
      }
      run.controller.abort(new RunEnded("run_ended", "run cancelled"));
      const record = await run.done;
      return runView(record, run.steps);
    },

    async watch(runId, after, options = {}) {
      const run = live.get(runId);
      if (run) return run.log.watch(after, options);
      if (!(await deps.store.getRun(runId))) return undefined;
      return replay(await deps.store.listEvents(runId, after));
    },

    prompt: (taskId) => workerPrompt(host, taskId),
    task: (taskId, runId) => findTask(host, taskId, runId),
    postResult: (posted) => postResult(host, posted),

    async settled(runId) {
      return await live.get(runId)?.done;
    },

    async allSettled() {
      await Promise.all([...live.values()].map((r) => r.done));
    },

    async stopAll() {
      const runs = [...live.values()];
      for (const run of runs) run.controller.abort(new RunEnded("run_ended"));
      await Promise.all(runs.map((r) => r.done));
    },

    requests: {
      record(request) {
        const run = request.run_id === undefined ? undefined : live.get(request.run_id);
        if (run) recordRequest(host, run, request);
      },
      durable,
    },

    stats: () => ({
      live_runs: live.size,
      live_tasks: host.tasks.size,
      live_init_ctx_bytes: liveInitBytes,
    }),
    durable,
  };
}
