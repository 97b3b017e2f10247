/**
 * One step dispatch (reference/engine.md §3.5–§3.7): find or create the task,
 * start an attempt with a fresh worker token and handle, run the linked stack,
 * and turn the attempt's last `final` into pass or blocked.
 *
 * A step already in the run's journal (a replay after a restart) is answered
 * from it; a task left `running` by a restart resumes its attempt when operator
 * requests exist for it, and otherwise starts a new attempt.
 *
 * @module
 */
import type { Json } from "../protocol/json.ts";
import type { OperatorKind } from "../protocol/blueprint.ts";
import type { OutputEvent } from "../protocol/worker.ts";
import type { StepVerdict } from "../protocol/runs.ts";
import { compactJson } from "./expr/mod.ts";
import { StepError, type StepRequest } from "./flow/mod.ts";
import { type CtxView, resolveFace, RunEnded } from "./faces.ts";
import { requestContext } from "./request_context.ts";
import type { RequestContext } from "../protocol/frames.ts";
import type { CapToken } from "./captoken.ts";
import type { AttemptContext, ResolvedFaces } from "./spawner.ts";
import { messageOf, SpawnError, WorkerError } from "./spawner.ts";
import {
  type AttemptState,
  createTask,
  isTerminal,
  lastFinal,
  startAttempt,
  type TaskState,
} from "./tasks.ts";
import { addTask, findTask, type LiveRun, type RunHost } from "./run_types.ts";
import {
  appendOutput,
  closeStep,
  finalArrived,
  holdsRequests,
  interruptStep,
  openStep,
} from "./steps.ts";

/** The operator kind of an agent (reference/engine.md §4.4, five tiers). */

/**
 * The attempt as faces see it. Its `context` is made when a face first reads it
 * (a function step never does). A class, not an object literal with a getter:
 * such a literal is a dictionary-mode object, about 0.5 KiB more for every
 * parked run.
 */
class StepView implements CtxView {
  readonly runId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly agent: string;
  readonly operator: CtxView["operator"];
  readonly deadlineAt: number | undefined;
  readonly runtime: Record<string, Json>;
  #context: RequestContext | undefined;
  #run: LiveRun;
  #state: AttemptState;
  #stepKey: string;

  constructor(
    run: LiveRun,
    task: TaskState,
    state: AttemptState,
    stepKey: string,
    runtime: Record<string, Json>,
  ) {
    this.#run = run;
    this.#state = state;
    this.#stepKey = stepKey;
    this.runtime = runtime;
    this.runId = run.record.run_id;
    this.taskId = task.id;
    this.attempt = state.n;
    this.agent = task.agent;
    this.operator = { kind: resolveKind(run, task.agent), id: run.record.operator.id };
    this.deadlineAt = run.record.deadline_at;
  }

  get context(): RequestContext {
    return this.#context ??= requestContext({
      runId: this.runId,
      blueprintId: this.#run.record.blueprint.id,
      blueprintVersion: this.#run.record.bound_version,
      agent: this.agent,
      attempt: this.attempt,
      step: this.#stepKey,
      input: this.#state.prompt,
    });
  }
}

export function resolveKind(run: LiveRun, agent: string): OperatorKind {
  const op = run.record.operator;
  // an own key only: an agent named `constructor` has no per-agent kind (§3.5)
  const perAgent = Object.hasOwn(op.per_agent_kinds, agent) ? op.per_agent_kinds[agent] : undefined;
  if (perAgent) return perAgent;
  if (op.kind) return op.kind;
  const bp = run.record.blueprint;
  if (bp.operators.length > 0) {
    const def = bp.agents.find((a) => a.name === agent);
    const spec = def?.spec;
    const ref = typeof spec === "object" && spec !== null && !Array.isArray(spec)
      ? spec.operator_ref
      : undefined;
    if (typeof ref === "string") {
      const kind = bp.operators.find((o) => o.name === ref)?.kind;
      if (kind) return kind;
    }
  }
  return bp.default_operator_kind ?? "automate";
}

function resolveFaces(host: RunHost, run: LiveRun): ResolvedFaces {
  const op = run.record.operator;
  const reg = host.registries;
  // A seat scoped to this run, then to its Blueprint, then the unscoped one.
  const scope = { runId: run.record.run_id, blueprintId: run.record.blueprint.id };
  const find = <K extends "spawnHooks" | "seniorBridges" | "operators">(k: K, name?: string) =>
    name === undefined ? undefined : resolveFace(reg, k, name, scope);
  return {
    hook: find("spawnHooks", op.spawn_hook_id),
    bridge: find("seniorBridges", op.senior_bridge_id),
    backend: find("operators", op.operator_backend_id),
  };
}

/** Runs one step for `run`; resolves with its value or throws a StepError. */
export async function dispatchStep(host: RunHost, run: LiveRun, req: StepRequest): Promise<Json> {
  const journaled = run.journal?.get(req.key);
  if (journaled) {
    if (journaled.ok) return journaled.value;
    throw new StepError(journaled.error);
  }
  // Every scope signal of the flow is the run's signal or follows it (execute hands
  // run.signal to evalFlow, and a branch signal is made from its scope's), so the
  // step's own signal is enough.
  const signal = req.signal;
  signal.throwIfAborted();
  if (host.now() >= run.record.deadline_at) {
    // A step never starts past the run's deadline, even before its timer fires.
    // One turn first, so the flow is already waiting on this dispatch.
    await Promise.resolve();
    const secs = run.record.effective_ttl_secs;
    run.controller.abort(
      new RunEnded("timeout", `ttl expired: the run's TTL of ${secs} s has passed`),
    );
    signal.throwIfAborted();
  }

  const now = host.now();
  let task = findTask(run, req.key);
  let attempt: AttemptState;
  let resumed = false;
  if (task && !isTerminal(task.status) && task.attempt > 0) {
    const current = task.attempts[task.attempt - 1];
    if (holdsRequests(run, task.id, current.n)) {
      attempt = current;
      resumed = true;
    } else {
      interruptStep(host, run, task.id, current.n);
      attempt = startAttempt(task, now);
    }
  } else {
    task = createTask(run.record.run_id, req.key, req.ref, req.directive, now);
    addTask(run, task);
    host.tasks.set(task.id, task);
    attempt = startAttempt(task, now);
  }

  const faces = resolveFaces(host, run);
  let worker: { encoded: string; handle: string; token: CapToken } | undefined;
  if (resumed && attempt.token && attempt.handle) {
    worker = {
      encoded: attempt.token,
      handle: attempt.handle,
      token: host.tokens.decode(attempt.token),
    };
  } else if (faces.backend !== undefined || run.tokenAgents.has(task.agent)) {
    // Only a worker that can call back over HTTP gets a token (never a function step).
    const minting = host.tokens.mintWorker(
      task.id,
      run.record.run_id,
      host.workerTokenTtlSecs,
      host.workerTokenMaxUses,
    );
    // no turn taken when it was minted at once (the authority holds the raw secret)
    const minted = minting instanceof Promise ? await minting : minting;
    // frozen, and known to the authority as signed (no decode)
    worker = minted;
    attempt.token = minted.encoded;
    attempt.handle = minted.handle;
    attempt.nonce = minted.token.nonce;
  }

  const step = openStep(host, run, task, attempt);
  const runtime: Record<string, Json> = {};
  if (worker) runtime.worker_handle = worker.handle;
  const alias = run.record.blueprint.metadata.project_name_alias;
  if (alias !== undefined) runtime.project_name_alias = alias;
  const ctx = new StepView(run, task, attempt, req.key, runtime);
  const a = new Attempt(host, task, attempt, ctx, worker, signal, faces);

  let failure: string | undefined;
  try {
    const started = await run.stack(a);
    await started.done;
  } catch (err) {
    if (signal.aborted) {
      closeStep(host, run, task, step, "cancelled", messageOf(signal.reason));
      throw signal.reason;
    }
    if (!(err instanceof SpawnError || err instanceof WorkerError)) {
      host.log.error("worker failed unexpectedly", {
        run_id: run.record.run_id,
        task_id: task.id,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
    }
    failure = `dispatch failed: ${messageOf(err)}`;
  }
  // The step's end is written behind: the store applies writes in call order, so
  // a crash loses only a suffix, and the step then runs again (at-least-once).
  if (failure === undefined) {
    const final = lastFinal(attempt.tail);
    if (!final) failure = "dispatch failed: no Final in output_tail";
    else {
      task.last_result = final.value;
      if (final.ok) {
        closeStep(host, run, task, step, "pass", undefined, {
          key: req.key,
          ok: true,
          value: final.value,
        });
        return final.value;
      }
      const note = a.blockNote === undefined ? "" : ` (${a.blockNote})`;
      failure = `blocked: ${compactJson(final.value)}${note}`;
      closeStep(host, run, task, step, "blocked", failure, {
        key: req.key,
        ok: false,
        error: failure,
      });
      throw new StepError(failure);
    }
  }
  closeStep(host, run, task, step, "failed", failure, {
    key: req.key,
    ok: false,
    error: failure,
  });
  throw new StepError(failure);
}

export { INTERRUPTED } from "./steps.ts";

/**
 * One attempt as layers and workers see it. A class: its methods live on the
 * prototype, so a parked attempt holds no closures of its own.
 */
class Attempt implements AttemptContext {
  blockNote?: string;
  readonly #host: RunHost;
  constructor(
    host: RunHost,
    readonly task: TaskState,
    readonly attempt: AttemptState,
    readonly ctx: CtxView,
    worker: { encoded: string; handle: string; token: CapToken } | undefined,
    readonly signal: AbortSignal,
    readonly faces: ResolvedFaces,
  ) {
    this.#host = host;
    if (worker) {
      this.grant = { capabilityToken: worker.encoded, workerHandle: worker.handle };
      this.token = worker.token;
    }
  }
  readonly grant?: AttemptContext["grant"];
  readonly token?: CapToken;

  append(event: OutputEvent): void {
    appendOutput(this.#host, this.task, this.attempt, event);
  }

  lastFinal() {
    return lastFinal(this.attempt.tail);
  }

  setSystem(system: string | null): void {
    this.attempt.system = system;
  }

  finalArrived(): Promise<void> {
    return finalArrived(this.#host, this.task, this.attempt);
  }
}

/** The verdict of a finished step, for its record. */
export type FinishedVerdict = Exclude<StepVerdict, "running">;
