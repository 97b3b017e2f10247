/**
 * A run's lifecycle: launch (compile and hold it live), execute its flow under
 * its TTL, finish it (tokens end, pending requests are cancelled, the record is
 * written), and resume a stored run after a restart. Writes go behind the run
 * (RunHost.write); nothing here waits on the store while a run goes on.
 *
 * @module
 */
import type { Json, JsonObject } from "../protocol/json.ts";
import type {
  JournalEntry,
  RequestRecord,
  RunEvent,
  RunRecord,
  StepRecord,
  TaskState,
} from "../protocol/runs.ts";
import type { Metrics } from "../observe/metrics.ts";
import { evalFlow, FlowError, type RunBudgets } from "./flow/mod.ts";
import { compileBlueprint, type CompileEnv, tokenAgents } from "./compile.ts";
import { dispatchStep } from "./dispatch.ts";
import { resolveFace, RunEnded } from "./faces.ts";
import { askNode, type AskNodeHost } from "./ask_node.ts";
import { isTerminal } from "./tasks.ts";
import type { LiveRun, RunHost } from "./run_types.ts";
import { RunLog, type RunLogEnv } from "./run_log.ts";
import type { Deadline } from "./deadlines.ts";
import type { Operator } from "./faces.ts";
import type { Spawner } from "./spawner.ts";
import { closeStepRecord, holdsRequests, INTERRUPTED } from "./steps.ts";

/** What the lifecycle needs beside the host. */
export interface LifecycleEnv extends Omit<CompileEnv, "operators"> {
  host: RunHost;
  metrics: Metrics;
  /** Live runs by id. */
  live: Map<string, LiveRun>;
  /** Where run logs write their events. */
  logEnv: RunLogEnv;
  /**
   * Compiled stacks by (shared) normalized Blueprint: the runs of one Blueprint
   * share one stack while the operators it links to are the same seats.
   */
  compiled: WeakMap<object, Compiled>;
  /** Schedules a run's deadline (one timer for all runs). */
  deadline(at: number, fire: () => void): Deadline;
  /** Told once a run has ended, with the seats that held its requests. */
  onRunEnded?(runId: string, sids: ReadonlySet<string>): void;
  /** Told at resume about the requests of a run still pending or settled. */
  onRequestsRecovered?(requests: RequestRecord[]): void;
  /** Each run's budgets; missing ones take the defaults. */
  budgets?: Partial<RunBudgets>;
  /**
   * A run is quarantined (failed, not resumed) once the server has stopped this
   * many times while it was executing (`SWITCHBOARD_RUN_MAX_STOPS`, 3).
   */
  maxStops?: number;
}

/** The default of {@link LifecycleEnv.maxStops}. */
export const MAX_STOPS = 3;

/** What a run resumed from the store brings along. */
export interface RecoveredRun {
  steps: StepRecord[];
  entries: JournalEntry[];
  events: RunEvent[];
  tasks: TaskState[];
  requests: RequestRecord[];
}

/** The abort reason of a run that finished on its own (one instance: no stack to capture). */
const FINISHED = new RunEnded("run_ended");

/** A compiled Blueprint and the operators it was linked with. */
export interface Compiled {
  stack: Spawner;
  tokenAgents: ReadonlySet<string>;
  linked: Array<[string, Operator | undefined]>;
}

function compiled(env: LifecycleEnv, record: RunRecord): Compiled {
  const { registries } = env.host;
  const scope = { runId: record.run_id, blueprintId: record.blueprint.id };
  // the run's own seats first, then its Blueprint's, then unscoped ones
  const resolveOperator = (name: string) => resolveFace(registries, "operators", name, scope);
  const known = env.compiled.get(record.blueprint);
  if (known && linkedTo(known, record, resolveOperator)) return known;
  const linked: Compiled["linked"] = record.blueprint.operators.map((o) => [
    o.name,
    resolveOperator(o.name),
  ]);
  const stack = compileBlueprint(record.blueprint, {
    ...env,
    operators: registries.operators,
    resolveOperator,
  });
  const made = { stack, tokenAgents: tokenAgents(record.blueprint, env), linked };
  env.compiled.set(record.blueprint, made);
  return made;
}

/** True when `known` was linked with the operators the run's names resolve to now. */
function linkedTo(
  known: Compiled,
  record: RunRecord,
  resolveOperator: (name: string) => Operator | undefined,
): boolean {
  const { operators } = record.blueprint;
  if (operators.length !== known.linked.length) return false;
  for (let i = 0; i < operators.length; i++) {
    if (known.linked[i][1] !== resolveOperator(operators[i].name)) return false;
  }
  return true;
}

/** Compiles a run and holds it live. Throws `CompileError`. */
export function launch(
  env: LifecycleEnv,
  record: RunRecord,
  prior?: RecoveredRun,
): LiveRun {
  const { host } = env;
  const { stack, tokenAgents } = compiled(env, record);
  const controller = new AbortController();
  const runId = record.run_id;
  const steps = prior?.steps ?? [];
  const run: LiveRun = {
    record,
    steps,
    journal: prior?.entries.length ? new Map(prior.entries.map((e) => [e.key, e])) : undefined,
    // the newest task of each key, as before the restart
    tasks: prior ? [...new Map(prior.tasks.map((t) => [t.key, t])).values()] : [],
    log: new RunLog(env.logEnv, runId, prior?.events),
    controller,
    signal: controller.signal,
    stack,
    tokenAgents,
    done: Promise.resolve(record),
  };
  const requests = prior?.requests.filter((r) => r.state !== "cancelled") ?? [];
  if (requests.length > 0) {
    run.requests = requests.map(({ req_id, sid, task_id, attempt, state, sent_at }) => ({
      req_id,
      sid,
      task_id,
      attempt,
      state,
      sent_at,
    }));
  }
  for (const task of run.tasks) {
    if (!isTerminal(task.status)) host.tasks.set(task.id, task);
  }
  env.live.set(runId, run);
  return run;
}

/** What an ask node needs: the registries, the clock, and the run's journal (written behind). */
function askHost(host: RunHost): AskNodeHost {
  return {
    registries: host.registries,
    now: host.now,
    syncSeats: host.syncSeats,
    journal(run, entry) {
      const runId = run.record.run_id;
      (run.journal ??= new Map()).set(entry.key, entry);
      host.write(runId, () => host.store.putJournal(runId, entry));
    },
  };
}

/** Runs the flow of a launched run to its end; resolves with the final record. */
export async function execute(env: LifecycleEnv, run: LiveRun): Promise<RunRecord> {
  const { host } = env;
  const { record } = run;
  const timer = env.deadline(record.deadline_at, () => {
    run.controller.abort(
      new RunEnded(
        "timeout",
        `ttl expired: the run's TTL of ${record.effective_ttl_secs} s has passed`,
      ),
    );
  });
  try {
    // evalFlow starts from a copy of its ctx: the record's init_ctx stays as it was
    const finalCtx = await evalFlow(record.blueprint.flow, record.init_ctx, {
      dispatch: (req) => dispatchStep(host, run, req),
      ask: (req) => askNode(askHost(host), run, req),
      signal: run.signal,
      settlesOnAbort: true, // every worker kind and the seats' waits end on their signal
      budgets: env.budgets,
      afterStep: ({ key, ctx, root }) => {
        if (!root) return;
        // The checkpoint: the root ctx after each finished step (the store copies
        // it when the write is issued: the flow goes on mutating ctx in place).
        record.ctx = ctx;
        const saved = { ...record };
        host.write(record.run_id, () => host.store.putRun(saved));
        // The ctx after this step, kept on its stored record only (the run trace shows it).
        const step = run.steps.findLast((s) => s.key === key);
        if (step) {
          const withCtx = { ...step, ...ctxAfter(ctx) };
          host.write(record.run_id, () => host.store.putStep(record.run_id, withCtx));
        }
      },
    });
    timer.clear();
    if (run.signal.aborted) return finish(env, run, { error: run.signal.reason });
    return finish(env, run, { final_ctx: finalCtx });
  } catch (err) {
    timer.clear();
    return finish(env, run, { error: run.signal.aborted ? run.signal.reason : err });
  }
}

function settle(env: LifecycleEnv, record: RunRecord, outcome: Outcome): void {
  record.finished_at = env.host.now();
  if ("final_ctx" in outcome) {
    record.status = "succeeded";
    record.final_ctx = outcome.final_ctx;
    record.ctx = outcome.final_ctx;
    return;
  }
  const err = outcome.error;
  record.status = "failed";
  if (err instanceof RunEnded) {
    if (err.why !== "timeout") record.status = "cancelled";
    record.error = err.message;
    record.error_kind = err.why === "timeout" ? "ttl" : "cancelled";
  } else if (err instanceof FlowError) {
    record.error = err.message;
    record.error_kind = "flow";
  } else {
    env.host.log.error("run failed unexpectedly", {
      run_id: record.run_id,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    record.error = "internal error";
    record.error_kind = "internal";
  }
}

type Outcome = { final_ctx: Json } | { error: unknown };

/** Ends a run: its record, its open steps and tasks, its tokens, `run_ended`. */
function finish(env: LifecycleEnv, run: LiveRun, outcome: Outcome): RunRecord {
  const { host } = env;
  const { record } = run;
  const runId = record.run_id;
  settle(env, record, outcome);
  if (!run.controller.signal.aborted) run.controller.abort(FINISHED);
  for (const task of run.tasks) {
    if (!isTerminal(task.status)) {
      task.status = "cancelled";
      task.updated_at = record.finished_at!;
      host.write(runId, () => host.store.putTask(task));
    }
    host.tasks.delete(task.id);
  }
  // A step still in flight ends with the run, before `run_ended`: its dispatch
  // settles later, and answers and watchers must not see it running.
  const why = run.signal.reason instanceof Error ? run.signal.reason.message : "run ended";
  for (const step of run.steps) {
    if (step.verdict === "running") closeStepRecord(host, run, step, "cancelled", why);
  }
  host.write(runId, () => host.tokens.endRun(runId));
  const saved = { ...record };
  host.write(runId, () => host.store.putRun(saved));
  const ended: JsonObject = { status: record.status };
  if (record.error !== undefined) ended.error = record.error;
  if (record.final_ctx !== undefined) ended.final_ctx = record.final_ctx;
  run.log.append("run_ended", ended);
  env.live.delete(runId);
  env.metrics.runEnded(record.status);
  host.log.info("run ended", {
    run_id: runId,
    status: record.status,
    error: record.error,
    ms: record.finished_at! - record.created_at,
  });
  const sids = new Set<string>();
  for (const r of run.requests ?? []) sids.add(r.sid);
  try {
    env.onRunEnded?.(runId, sids);
  } catch (err) {
    host.log.error("run end hook failed", { run_id: runId, error: String(err) });
  }
  return record;
}

/** Why a run is not resumed: the server stopped too often while it executed. */
class Quarantined extends Error {}

/** Starts a launched run in the background. */
export function begin(env: LifecycleEnv, run: LiveRun): void {
  const { record } = run;
  env.host.write(record.run_id, () => env.host.store.putRun({ ...record }, { created: true }));
  run.log.append("run_started", {
    bound_version: record.bound_version,
    effective_ttl_secs: record.effective_ttl_secs,
    ttl_source: record.ttl_source,
  });
  env.host.log.info("run started", { run_id: record.run_id, bound_version: record.bound_version });
  run.done = execute(env, run);
}

/**
 * Resumes a stored run that was running when the process stopped: finished
 * steps answer from the journal, a step waiting on an operator request picks
 * it up again, and a step that was executing runs again as a new attempt. A
 * run that can no longer be compiled is stored as failed (undefined is returned).
 */
export async function resume(
  env: LifecycleEnv,
  record: RunRecord,
  prior: RecoveredRun,
): Promise<LiveRun | undefined> {
  const { host } = env;
  const runId = record.run_id;
  // A run waiting on an operator was not executing: only the others count a stop.
  // A poison run (one that takes the server down) is thus resumed a bounded
  // number of times instead of crashing every boot.
  const waiting = prior.requests.some((r) => r.state === "pending");
  const stops = (record.stops ?? 0) + (waiting ? 0 : 1);
  const maxStops = env.maxStops ?? MAX_STOPS;
  let run: LiveRun;
  try {
    if (stops >= maxStops) {
      throw new Quarantined(
        `quarantined: the server stopped ${stops} times while this run was executing`,
      );
    }
    record.stops = stops;
    run = launch(env, record, prior);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const quarantined = err instanceof Quarantined;
    const failed: RunRecord = {
      ...record,
      status: "failed",
      finished_at: host.now(),
      error: quarantined ? message : `resume failed: ${message}`,
      error_kind: quarantined ? "flow" : "internal",
      stops,
    };
    await host.store.putRun(failed);
    await host.store.appendEvent(runId, {
      id: prior.events.length + 1,
      type: "run_ended",
      at: host.now(),
      data: { status: "failed", error: failed.error ?? null },
    });
    await host.tokens.endRun(runId);
    host.log.error("run could not be resumed", { run_id: runId, error: message });
    env.onRunEnded?.(runId, new Set(prior.requests.map((r) => r.sid)));
    return undefined;
  }
  const held = prior.requests.filter((r) => r.state !== "cancelled");
  if (held.length > 0) env.onRequestsRecovered?.(held);
  run.log.append("run_resumed", { steps_done: prior.entries.length });
  for (const step of run.steps) {
    if (step.verdict !== "running" || holdsRequests(run, step.task_id, step.attempt)) continue;
    closeStepRecord(host, run, step, "failed", INTERRUPTED);
  }
  host.log.info("run resumed", { run_id: runId, steps_done: prior.entries.length });
  // the stop count is durable before the run executes again
  if (stops > 0) await host.store.putRun({ ...record });
  run.done = execute(env, run);
  return run;
}

/** The largest ctx a step record keeps whole as `ctx_after` (bigger ones keep the size). */
export const CTX_AFTER_MAX_BYTES = 64 * 1024;
const utf8 = new TextEncoder();

/** A copy of the root ctx after a step, or only its size when it is large. */
function ctxAfter(ctx: Json): Pick<StepRecord, "ctx_after" | "ctx_after_bytes"> {
  const text = JSON.stringify(ctx);
  const bytes = text.length > CTX_AFTER_MAX_BYTES / 4 ? utf8.encode(text).length : text.length;
  if (bytes > CTX_AFTER_MAX_BYTES) return { ctx_after_bytes: bytes };
  return { ctx_after: JSON.parse(text) };
}
