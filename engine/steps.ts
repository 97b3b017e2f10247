/**
 * A step's records, written once: its start (task, step record, `step_started`),
 * its end (tokens, task, step record, `step_finished`, journal entry), and the
 * worker output appended to an attempt. Every write is issued without waiting
 * (the run goes on; acknowledgements wait for durability, SPEC §10).
 *
 * @module
 */
import type { OutputEvent } from "../protocol/worker.ts";
import type { Json, JsonObject } from "../protocol/json.ts";
import type { JournalEntry, StepRecord, StepVerdict } from "../protocol/runs.ts";
import { type AttemptState, lastFinal, type TaskState } from "./tasks.ts";
import { addStep, findStep, type LiveRun, type RunHost } from "./run_types.ts";

/** What an attempt that was executing when the server stopped ends with. */
export const INTERRUPTED = "interrupted: the server stopped during this attempt";

/** Records the start of an attempt: the task (with its worker token), the step, `step_started`. */
export function openStep(
  host: RunHost,
  run: LiveRun,
  task: TaskState,
  attempt: AttemptState,
): StepRecord {
  const runId = run.record.run_id;
  host.write(runId, () => host.store.putTask(task));
  let step = findStep(run, task.id, attempt.n);
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
    addStep(run, step);
    const saved = { ...step };
    host.write(runId, () => host.store.putStep(runId, saved));
  }
  run.log.append("step_started", {
    task_id: task.id,
    agent: task.agent,
    attempt: attempt.n,
    key: task.key,
  });
  return step;
}

/**
 * Ends a step record that is still running (`verdict`, `error`) and appends its
 * `step_finished`. Used by a step's own end, the run's end and a restart.
 */
export function closeStepRecord(
  host: RunHost,
  run: LiveRun,
  step: StepRecord,
  verdict: Exclude<StepVerdict, "running">,
  error?: string,
  output?: Json,
): void {
  const runId = run.record.run_id;
  step.verdict = verdict;
  step.finished_at = host.now();
  if (error !== undefined) step.error = error;
  const saved = { ...step };
  host.write(runId, () => host.store.putStep(runId, saved));
  const data: JsonObject = {
    task_id: step.task_id,
    agent: step.agent,
    attempt: step.attempt,
    verdict,
    duration_ms: step.finished_at - step.started_at,
  };
  if (error !== undefined) data.error = error;
  if (output !== undefined) data.output = output;
  run.log.append("step_finished", data);
}

/**
 * Records the end of an attempt: its tokens end, and the task, the step, a
 * `step_finished` event and the journal entry (if given) are written. A step
 * already ended with its run keeps its record; the entry is still written.
 */
export function closeStep(
  host: RunHost,
  run: LiveRun,
  task: TaskState,
  step: StepRecord,
  verdict: Exclude<StepVerdict, "running">,
  error?: string,
  entry?: JournalEntry,
): void {
  const runId = run.record.run_id;
  if (entry) (run.journal ??= new Map()).set(entry.key, entry);
  if (step.verdict === "running") {
    const now = host.now();
    const attempt = task.attempts[step.attempt - 1];
    if (attempt) attempt.finished_at = now;
    task.status = verdict === "pass" ? "pass" : verdict === "cancelled" ? "cancelled" : "blocked";
    task.updated_at = now;
    if (attempt?.nonce !== undefined) host.write(runId, () => host.tokens.endTask(task.id));
    host.write(runId, () => host.store.putTask(task));
    closeStepRecord(host, run, step, verdict, error, entry?.ok ? entry.value : undefined);
  }
  if (entry) host.write(runId, () => host.store.putJournal(runId, entry));
}

/** Marks the step of an attempt cut off by a restart as failed (it runs again as a new attempt). */
export function interruptStep(host: RunHost, run: LiveRun, taskId: string, n: number): void {
  const step = findStep(run, taskId, n);
  if (step && step.verdict === "running") closeStepRecord(host, run, step, "failed", INTERRUPTED);
}

/** True when operator requests (pending or settled) exist for an attempt of the run. */
export function holdsRequests(run: LiveRun, taskId: string, attempt: number): boolean {
  for (const r of run.requests ?? []) {
    if (r.task_id === taskId && r.attempt === attempt) return true;
  }
  return false;
}

/** Appends a worker's event to an attempt's tail (and wakes a waiting `final`). */
export function appendOutput(
  host: RunHost,
  task: TaskState,
  attempt: AttemptState,
  event: OutputEvent,
): void {
  attempt.tail.push(event);
  task.updated_at = host.now();
  host.write(task.run_id, () => host.store.putTask(task));
  if (event.type === "final") {
    const key = `${task.id}#${attempt.n}`;
    const waiters = host.finalWaiters.get(key);
    host.finalWaiters.delete(key);
    waiters?.forEach((wake) => wake());
  }
}

/** Resolves when a `final` is in the attempt's tail (now or later). */
export function finalArrived(host: RunHost, task: TaskState, attempt: AttemptState): Promise<void> {
  if (lastFinal(attempt.tail)) return Promise.resolve();
  const { promise, resolve } = Promise.withResolvers<void>();
  const key = `${task.id}#${attempt.n}`;
  const list = host.finalWaiters.get(key) ?? [];
  list.push(resolve);
  host.finalWaiters.set(key, list);
  return promise;
}
