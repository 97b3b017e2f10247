/**
 * A spawned worker's side of a task (reference/http.md §5, SPEC §5): its prompt,
 * and its result posted as the current attempt's `final`, with the rules that
 * a second `final` or a stale attempt is 409 and an ended task 410.
 *
 * @module
 */
import { SwitchboardError } from "../protocol/errors.ts";
import type { Json } from "../protocol/json.ts";
import type { WorkerPayload } from "../protocol/worker.ts";
import { inlineFinal } from "./spawner.ts";
import { attemptOf, isTerminal, lastFinal, type TaskState } from "./tasks.ts";
import type { RunHost } from "./run_types.ts";
import { appendOutput } from "./steps.ts";

/** A task of a live run, or a stored one (`runId` also finds one its run's record keeps). */
export async function findTask(
  host: RunHost,
  taskId: string,
  runId?: string,
): Promise<TaskState | undefined> {
  return host.tasks.get(taskId) ?? await host.store.getTask(taskId, runId);
}

/** A task that has not ended; `not_found` or `gone` otherwise (0.1.2 texts). */
export async function liveTask(host: RunHost, taskId: string, context: string): Promise<TaskState> {
  const task = await findTask(host, taskId);
  if (!task) {
    throw new SwitchboardError("not_found", `engine: ${context}: task not found: ${taskId}`);
  }
  if (isTerminal(task.status)) {
    throw new SwitchboardError("gone", `engine: ${context}: task ${taskId} has ended`);
  }
  return task;
}

/** The prompt of a task's current attempt. */
export async function workerPrompt(host: RunHost, taskId: string): Promise<WorkerPayload> {
  const task = await liveTask(host, taskId, "fetch_worker_payload");
  const attempt = attemptOf(task, Math.max(1, task.attempt));
  if (!attempt) {
    throw new SwitchboardError(
      "not_found",
      `engine: fetch_worker_payload: resource not found: prompt(${taskId}, attempt=1)`,
    );
  }
  // the reference's field order: task_id, attempt, agent, system (when baked), prompt
  return typeof attempt.system === "string"
    ? {
      task_id: taskId,
      attempt: attempt.n,
      agent: task.agent,
      system: attempt.system,
      prompt: attempt.prompt,
    }
    : { task_id: taskId, attempt: attempt.n, agent: task.agent, prompt: attempt.prompt };
}

/** What {@link postResult} takes. */
export interface PostedResult {
  taskId: string;
  /** The attempt the worker means; default the one of its credential, else the current one. */
  attempt?: number;
  /**
   * The nonce of the token (or the handle's token) that posts: a credential minted
   * for an earlier attempt (one cut off by a restart) posts for that attempt.
   */
  nonce?: string;
  value: Json;
  ok: boolean;
  /** The 0.1.2 operation name in error texts (`post_result`, `submit_worker_result`). */
  context: string;
}

/**
 * Appends a worker's result as the current attempt's `final` (the run goes on at
 * once) and resolves once it is durable, so the worker's 2xx confirms it.
 */
export async function postResult(host: RunHost, posted: PostedResult): Promise<void> {
  const { context } = posted;
  const task = await liveTask(host, posted.taskId, context);
  const own = posted.nonce === undefined
    ? undefined
    : task.attempts.find((a) => a.nonce === posted.nonce)?.n;
  const stale = [posted.attempt, own].find((m) => m !== undefined && m !== task.attempt);
  if (stale !== undefined) {
    throw new SwitchboardError(
      "conflict",
      `engine: ${context}: attempt ${stale} is not the current attempt ${task.attempt} of ${task.id}`,
    );
  }
  const n = task.attempt;
  const attempt = attemptOf(task, n);
  if (!attempt) {
    throw new SwitchboardError("conflict", `engine: ${context}: ${task.id} has no attempt ${n}`);
  }
  if (lastFinal(attempt.tail)) {
    throw new SwitchboardError(
      "conflict",
      `engine: ${context}: a final was already posted for ${task.id} attempt ${n}`,
    );
  }
  task.last_result = posted.value;
  appendOutput(host, task, attempt, inlineFinal(posted.value, posted.ok));
  await host.store.flushed();
}
