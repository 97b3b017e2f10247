/**
 * The run engine: starts runs, evaluates their flows with the linked spawner
 * stack, enforces each run's TTL as a real deadline, keeps the event log, and
 * ends runs (tokens stop working, pending operator requests are cancelled).
 *
 * @module
 */
import type { BlueprintNorm } from "../protocol/blueprint.ts";
import type { Json } from "../protocol/json.ts";
import type { OutputEvent } from "../protocol/worker.ts";
import type { RunInfo } from "../protocol/tasks.ts";
import type { Logger } from "../observe/log.ts";
import type { Metrics } from "../observe/metrics.ts";
import type {
  JournalEntry,
  RunEvent,
  RunOperator,
  RunRecord,
  RunStatus,
  RunStore,
  StepRecord,
  TtlSource,
} from "../store/run_store.ts";
import { evalFlow, FlowError } from "./flow/mod.ts";
import { compileBlueprint } from "./compile.ts";
import { dispatchStep, INTERRUPTED } from "./dispatch.ts";
import { type FaceRegistries, RunEnded } from "./faces.ts";
import { copyJson } from "./expr/mod.ts";
import { randomHex } from "./crypto.ts";
import { type AttemptState, isTerminal, lastFinal, type TaskState } from "./tasks.ts";
import type { TokenAuthority } from "./tokens.ts";
import { type LiveRun, type RunHost, stepId } from "./run_types.ts";
import type { WorkerFn } from "./workers/function.ts";
import type { WebhookConfig } from "./workers/webhook.ts";
import { setLongTimeout } from "./long_timeout.ts";

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
  workerTokenTtlSecs?: number;
  workerTokenMaxUses?: number | null;
  /** True when operator requests (pending or settled) exist for an attempt. */
  hasOperatorRequests?(runId: string, taskId: string, attempt: number): boolean;
  /** Called once a run has ended (after its tokens stopped working). */
  onRunEnded?(runId: string): void | Promise<void>;
}

/** What starting a run takes. */
export interface StartRunRequest {
  blueprint: BlueprintNorm;
  boundVersion: string | null;
  initCtx: Json;
  ttlSecs: number;
  ttlSource: TtlSource;
  operator: RunOperator;
}

/** A run as `GET /v1/runs/:id` shows it. */
export type RunView = RunInfo;

/** The longest TTL a run may have (10 years). */
export const MAX_TTL_SECS = 10 * 365 * 86400;

/** A new run id: `run-` + 20 lowercase hex. */
export function newRunId(): string {
  return `run-${randomHex(10)}`;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Renders a run record and its steps for the API. */
export function runView(record: RunRecord, steps: readonly StepRecord[]): RunView {
  const view: RunView = {
    run_id: record.run_id,
    status: record.status,
    created_at: iso(record.created_at),
    bound_version: record.bound_version,
    effective_ttl_secs: record.effective_ttl_secs,
    ttl_source: record.ttl_source,
    steps: steps.map((s) => ({
      task_id: s.task_id,
      agent: s.agent,
      attempt: s.attempt,
      verdict: s.verdict,
      started_at: iso(s.started_at),
      ...(s.finished_at === undefined ? {} : { finished_at: iso(s.finished_at) }),
    })),
  };
  if (record.finished_at !== undefined) view.finished_at = iso(record.finished_at);
  if (record.final_ctx !== undefined) view.final_ctx = record.final_ctx;
  if (record.error !== undefined) view.error = record.error;
  return view;
}

/** Creates the engine. */
export function createEngine(deps: EngineDeps) {
  const live = new Map<string, LiveRun>();
  const tasks = new Map<string, TaskState>();
  const finalWaiters = new Map<string, Array<() => void>>();
  const chains = new Map<string, Promise<void>>();

  /**
   * Issues a store write of a run now (RunStore applies writes in call order, so
   * nothing waits for the write before, and the KV store commits a step's writes
   * together), and returns a promise that settles once it and every earlier write
   * of the run have settled (some writes, like `emit`'s, do more after the store
   * call). A failed write is logged; the promise never rejects.
   */
  const persist = (runId: string, write: () => Promise<void>) => {
    let issued: Promise<void>;
    try {
      issued = write();
    } catch (err) {
      issued = Promise.reject(err);
    }
    const done = issued.catch((err) => {
      deps.log.error("run store write failed", { run_id: runId, error: String(err) });
    });
    const prev = chains.get(runId);
    const next = prev ? prev.then(() => done) : done;
    chains.set(runId, next);
    return next;
  };

  /** Run id → the last event id that is stored and was handed to listeners. */
  const delivered = new Map<string, number>();

  /**
   * Appends an event. Watchers see it only once it is stored, so an id a client
   * has seen is never reused by a restart (Last-Event-ID stays meaningful).
   */
  const emit = (run: LiveRun, type: string, data: Json) => {
    const runId = run.record.run_id;
    const event: RunEvent = { id: run.events.length + 1, type, at: deps.now(), data };
    run.events.push(event);
    return persist(runId, async () => {
      try {
        await deps.store.appendEvent(runId, event);
      } finally {
        delivered.set(runId, event.id);
        for (const listener of run.listeners) listener(event);
      }
    });
  };

  const host: RunHost = {
    registries: deps.registries,
    tokens: deps.tokens,
    store: deps.store,
    log: deps.log,
    now: deps.now,
    tasks,
    workerTokenTtlSecs: deps.workerTokenTtlSecs ?? 1800,
    workerTokenMaxUses: deps.workerTokenMaxUses ?? null,
    hasOperatorRequests: deps.hasOperatorRequests ?? (() => false),
    async beginStep(run, task, attempt) {
      const runId = run.record.run_id;
      persist(runId, () => deps.store.putTask(task));
      const id = stepId(task.id, attempt.n);
      let step = run.stepsById.get(id);
      if (!step) {
        step = {
          seq: run.steps.length + 1,
          key: task.key,
          task_id: task.id,
          agent: task.agent,
          attempt: attempt.n,
          verdict: "running",
          started_at: attempt.started_at,
        };
        run.steps.push(step);
        run.stepsById.set(id, step);
        const saved = { ...step };
        persist(runId, () => deps.store.putStep(runId, saved));
      }
      // durable (task, record and event) before the worker starts, so a restart knows
      // the attempt was cut off and the history shows it
      await emit(run, "step_started", {
        task_id: task.id,
        agent: task.agent,
        attempt: attempt.n,
        key: task.key,
      });
      return step;
    },
    async endStep(run, task, step, verdict, error, entry) {
      const runId = run.record.run_id;
      if (entry) run.journal.set(entry.key, entry);
      if (step.verdict !== "running") {
        // ended with its run (see finish); the journal entry is still kept
        if (entry) await persist(runId, () => deps.store.putJournal(runId, entry));
        return;
      }
      const now = deps.now();
      const attempt = task.attempts[step.attempt - 1];
      if (attempt) attempt.finished_at = now;
      task.status = verdict === "pass" ? "pass" : verdict === "cancelled" ? "cancelled" : "blocked";
      task.updated_at = now;
      step.verdict = verdict;
      step.finished_at = now;
      if (error !== undefined) step.error = error;
      // Every write below is issued at once; the store applies them in this order.
      persist(runId, () => deps.tokens.endTask(task.id));
      persist(runId, () => deps.store.putTask(task));
      const saved = { ...step };
      persist(runId, () => deps.store.putStep(runId, saved));
      const finished = emit(run, "step_finished", {
        task_id: task.id,
        agent: task.agent,
        attempt: step.attempt,
        verdict,
        ...(error === undefined ? {} : { error }),
      });
      await (entry ? persist(runId, () => deps.store.putJournal(runId, entry)) : finished);
    },
    appendEvent(task, attempt, event) {
      attempt.tail.push(event);
      task.updated_at = deps.now();
      persist(task.run_id, () => deps.store.putTask(task));
      if (event.type === "final") {
        const key = `${task.id}#${attempt.n}`;
        const waiters = finalWaiters.get(key);
        finalWaiters.delete(key);
        waiters?.forEach((wake) => wake());
      }
    },
    finalArrived(task, attempt) {
      if (lastFinal(attempt.tail)) return Promise.resolve();
      const { promise, resolve } = Promise.withResolvers<void>();
      const key = `${task.id}#${attempt.n}`;
      const list = finalWaiters.get(key) ?? [];
      list.push(resolve);
      finalWaiters.set(key, list);
      return promise;
    },
  };

  async function finish(run: LiveRun, outcome: { final_ctx: Json } | { error: unknown }) {
    const { record } = run;
    record.finished_at = deps.now();
    if ("final_ctx" in outcome) {
      record.status = "succeeded";
      record.final_ctx = outcome.final_ctx;
      record.ctx = outcome.final_ctx;
    } else {
      const err = outcome.error;
      if (err instanceof RunEnded) {
        record.status = err.why === "timeout" ? "failed" : "cancelled";
        record.error = err.message;
        record.error_kind = err.why === "timeout" ? "ttl" : "cancelled";
      } else if (err instanceof FlowError) {
        record.status = "failed";
        record.error = err.message;
        record.error_kind = "flow";
      } else {
        deps.log.error("run failed unexpectedly", {
          run_id: record.run_id,
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        });
        record.status = "failed";
        record.error = "internal error";
        record.error_kind = "internal";
      }
    }
    if (!run.controller.signal.aborted) run.controller.abort(new RunEnded("run_ended"));
    for (const task of run.tasksByKey.values()) {
      if (!isTerminal(task.status)) {
        task.status = "cancelled";
        task.updated_at = record.finished_at;
        persist(record.run_id, () => deps.store.putTask(task));
      }
      tasks.delete(task.id);
    }
    // A step still in flight ends with the run, before `run_ended`: its dispatch
    // settles later, and answers and watchers must not see it running.
    const why = run.signal.reason instanceof Error ? run.signal.reason.message : "run ended";
    for (const step of run.steps) {
      if (step.verdict !== "running") continue;
      step.verdict = "cancelled";
      step.finished_at = record.finished_at;
      step.error = why;
      const saved = { ...step };
      persist(record.run_id, () => deps.store.putStep(record.run_id, saved));
      emit(run, "step_finished", {
        task_id: step.task_id,
        agent: step.agent,
        attempt: step.attempt,
        verdict: "cancelled",
        error: why,
      });
    }
    try {
      await deps.tokens.endRun(record.run_id);
    } catch (err) {
      // the tokens are ended in memory; only their store write failed
      deps.log.error("run store write failed", { run_id: record.run_id, error: String(err) });
    }
    const saved = { ...record };
    persist(record.run_id, () => deps.store.putRun(saved));
    emit(run, "run_ended", {
      status: record.status,
      ...(record.error === undefined ? {} : { error: record.error }),
    });
    await chains.get(record.run_id);
    chains.delete(record.run_id);
    delivered.delete(record.run_id);
    live.delete(record.run_id);
    deps.metrics.runEnded(record.status);
    deps.log.info("run ended", {
      run_id: record.run_id,
      status: record.status,
      error: record.error,
      ms: record.finished_at - record.created_at,
    });
    try {
      await deps.onRunEnded?.(record.run_id);
    } catch (err) {
      deps.log.error("run end hook failed", { run_id: record.run_id, error: String(err) });
    }
    return record;
  }

  /**
   * Ends the steps that were executing in-process when the last process stopped
   * (no operator request holds them): failed, and run again as a new attempt.
   */
  async function interruptSteps(run: LiveRun): Promise<void> {
    const runId = run.record.run_id;
    const held = deps.hasOperatorRequests ?? (() => false);
    for (const step of run.steps) {
      if (step.verdict !== "running" || held(runId, step.task_id, step.attempt)) continue;
      step.verdict = "failed";
      step.error = INTERRUPTED;
      step.finished_at = deps.now();
      const saved = { ...step };
      await persist(runId, () => deps.store.putStep(runId, saved));
      emit(run, "step_finished", {
        task_id: step.task_id,
        agent: step.agent,
        attempt: step.attempt,
        verdict: "failed",
        error: INTERRUPTED,
      });
    }
  }

  async function execute(run: LiveRun): Promise<RunRecord> {
    const { record } = run;
    const timer = setLongTimeout(() => {
      run.controller.abort(
        new RunEnded(
          "timeout",
          `ttl expired: the run's TTL of ${record.effective_ttl_secs} s has passed`,
        ),
      );
    }, record.deadline_at - deps.now());
    try {
      const finalCtx = await evalFlow(record.blueprint.flow, copyJson(record.init_ctx), {
        dispatch: (req) => dispatchStep(host, run, req),
        signal: run.signal,
        afterStep: async ({ ctx, root }) => {
          if (!root) return;
          // The checkpoint: the root ctx after each finished step, written before
          // the flow goes on (the flow mutates ctx in place).
          record.ctx = ctx;
          const saved = { ...record };
          await persist(record.run_id, () => deps.store.putRun(saved));
        },
      });
      timer.clear();
      if (run.signal.aborted) return await finish(run, { error: run.signal.reason });
      return await finish(run, { final_ctx: finalCtx });
    } catch (err) {
      timer.clear();
      return await finish(run, { error: run.signal.aborted ? run.signal.reason : err });
    }
  }

  function launch(record: RunRecord, prior: Partial<Pick<LiveRun, "steps" | "events">> & {
    journal?: JournalEntry[];
    tasks?: TaskState[];
  } = {}): LiveRun {
    const stack = compileBlueprint(record.blueprint, {
      functions: deps.functions,
      webhooks: deps.webhooks,
      operators: deps.registries.operators,
      publicUrl: deps.publicUrl,
    });
    const controller = new AbortController();
    const run: LiveRun = {
      record,
      steps: prior.steps ?? [],
      stepsById: new Map((prior.steps ?? []).map((s) => [stepId(s.task_id, s.attempt), s])),
      journal: new Map((prior.journal ?? []).map((e) => [e.key, e])),
      tasksByKey: new Map((prior.tasks ?? []).map((t) => [t.key, t])),
      events: prior.events ?? [],
      listeners: new Set(),
      controller,
      signal: controller.signal,
      stack,
      done: Promise.resolve(record),
    };
    for (const task of run.tasksByKey.values()) {
      if (!isTerminal(task.status)) tasks.set(task.id, task);
    }
    live.set(record.run_id, run);
    delivered.set(record.run_id, run.events.length);
    return run;
  }

  return {
    host,
    live,

    /**
     * Starts a run. Compiles first, so a compile error (`CompileError`) is thrown
     * before anything is stored. The run goes on in the background.
     */
    async start(req: StartRunRequest): Promise<LiveRun> {
      const now = deps.now();
      const ttl = Math.min(req.ttlSecs, MAX_TTL_SECS);
      const record: RunRecord = {
        run_id: newRunId(),
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
      const run = launch(record);
      await deps.store.putRun({ ...record });
      emit(run, "run_started", {
        bound_version: record.bound_version,
        effective_ttl_secs: record.effective_ttl_secs,
        ttl_source: record.ttl_source,
      });
      deps.log.info("run started", { run_id: record.run_id, bound_version: record.bound_version });
      run.done = execute(run);
      return run;
    },

    /**
     * Resumes a stored run that was running when the process stopped: finished
     * steps answer from the journal, a step waiting on an operator request picks
     * it up again, and a step that was executing runs again as a new attempt. A
     * run that can no longer be compiled (a worker was removed) is stored as
     * failed and undefined is returned.
     */
    async resume(record: RunRecord): Promise<LiveRun | undefined> {
      const runId = record.run_id;
      if (live.has(runId)) return live.get(runId);
      const [steps, journal, events, storedTasks] = await Promise.all([
        deps.store.listSteps(runId),
        deps.store.listJournal(runId),
        deps.store.listEvents(runId),
        deps.store.listTasks(runId),
      ]);
      let run: LiveRun;
      try {
        run = launch(record, { steps, journal, events, tasks: storedTasks });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const failed: RunRecord = {
          ...record,
          status: "failed",
          finished_at: deps.now(),
          error: `resume failed: ${message}`,
          error_kind: "internal",
        };
        await deps.store.putRun(failed);
        const event: RunEvent = {
          id: events.length + 1,
          type: "run_ended",
          at: deps.now(),
          data: { status: "failed", error: failed.error ?? null },
        };
        await deps.store.appendEvent(runId, event);
        await deps.tokens.endRun(runId);
        deps.log.error("run could not be resumed", { run_id: runId, error: message });
        await deps.onRunEnded?.(runId);
        return undefined;
      }
      emit(run, "run_resumed", { steps_done: journal.length });
      await interruptSteps(run);
      deps.log.info("run resumed", { run_id: runId, steps_done: journal.length });
      run.done = execute(run);
      return run;
    },

    /** A run as the API shows it (live or stored). */
    async view(runId: string): Promise<RunView | undefined> {
      const run = live.get(runId);
      if (run) return runView(run.record, run.steps);
      const record = await deps.store.getRun(runId);
      if (!record) return undefined;
      return runView(record, await deps.store.listSteps(runId));
    },

    /** Runs newest first, each with its steps, like {@link view}. */
    async list(limit: number, status?: RunStatus): Promise<RunView[]> {
      const records = await deps.store.listRuns({ limit, status });
      return await Promise.all(records.map(async (r) => {
        const run = live.get(r.run_id);
        if (run) return runView(run.record, run.steps);
        return runView(r, await deps.store.listSteps(r.run_id));
      }));
    },

    /** Cancels a live run. False when it is not live. */
    cancel(runId: string): boolean {
      const run = live.get(runId);
      if (!run) return false;
      run.controller.abort(new RunEnded("run_ended", "run cancelled"));
      return true;
    },

    /** The event log of a run after `after`, and a live subscription while it runs. */
    async events(
      runId: string,
      after: number,
      listener: (event: RunEvent) => void,
    ): Promise<{ history: RunEvent[]; live: boolean; unsubscribe(): void } | undefined> {
      const run = live.get(runId);
      if (run) {
        run.listeners.add(listener);
        const upTo = delivered.get(runId) ?? 0;
        return {
          history: run.events.filter((e) => e.id > after && e.id <= upTo),
          live: true,
          unsubscribe: () => run.listeners.delete(listener),
        };
      }
      if (!(await deps.store.getRun(runId))) return undefined;
      return { history: await deps.store.listEvents(runId, after), live: false, unsubscribe() {} };
    },

    /** Adds an event to a live run's log (operator request events). */
    note(runId: string, type: string, data: Json): void {
      const run = live.get(runId);
      if (run) emit(run, type, data);
    },

    /** A task of a live run, or a stored one. */
    async task(taskId: string): Promise<TaskState | undefined> {
      return tasks.get(taskId) ?? await deps.store.getTask(taskId);
    },

    /** Appends a worker's event to a live task's attempt. */
    append(task: TaskState, attempt: AttemptState, event: OutputEvent): void {
      host.appendEvent(task, attempt, event);
    },

    /** Waits for every live run to settle its store writes (shutdown, tests). */
    async flush(): Promise<void> {
      await Promise.all([...chains.values()]);
    },
  };
}

/** The engine's type. */
export type Engine = ReturnType<typeof createEngine>;
