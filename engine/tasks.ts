/**
 * Tasks and attempts (reference/engine.md §0, §3.6–§3.8): one task per step
 * execution, attempts numbered from 1, an OutputEvent tail per attempt, and the
 * verdict taken from the tail's last `final`.
 *
 * @module
 */
import type { Json } from "../protocol/json.ts";
import type { OutputEvent } from "../protocol/worker.ts";
import type { AttemptState, TaskState, TaskStatus } from "../protocol/runs.ts";
import { randomHex } from "./crypto.ts";

export type { AttemptState, TaskState, TaskStatus } from "../protocol/runs.ts";

/** The value and verdict of a `final` event. */
export interface FinalValue {
  value: Json;
  ok: boolean;
}

/** A new task id: `T-` + 16 lowercase hex (64 bits from the CSPRNG). */
export function newTaskId(): string {
  return `T-${randomHex(8)}`;
}

/** Creates a task in `pending`. */
export function createTask(
  runId: string,
  key: string,
  agent: string,
  directive: string,
  now: number,
): TaskState {
  return {
    id: newTaskId(),
    run_id: runId,
    key,
    agent,
    directive,
    status: "pending",
    attempt: 0,
    attempts: [],
    last_result: null,
    created_at: now,
    updated_at: now,
  };
}

/** Starts the next attempt: the task is `running` and its attempt number grows. */
export function startAttempt(task: TaskState, now: number): AttemptState {
  const attempt: AttemptState = {
    n: task.attempt + 1,
    prompt: task.directive,
    tail: [],
    started_at: now,
  };
  task.attempt = attempt.n;
  task.attempts.push(attempt);
  task.status = "running";
  task.updated_at = now;
  return attempt;
}

/** The attempt numbered `n`, if it exists. */
export function attemptOf(task: TaskState, n: number): AttemptState | undefined {
  return task.attempts[n - 1];
}

/** The value of a `final`'s content (a file_ref renders as `{file_ref, mime, size_hint}`). */
export function finalValue(event: Extract<OutputEvent, { type: "final" }>): FinalValue {
  const c = event.content;
  const value: Json = c.kind === "inline"
    ? c.value
    : { file_ref: c.path, mime: c.mime ?? null, size_hint: c.size_hint ?? null };
  return { value, ok: event.ok };
}

/** The last `final` of a tail, or undefined. */
export function lastFinal(tail: readonly OutputEvent[]): FinalValue | undefined {
  for (let i = tail.length - 1; i >= 0; i--) {
    const event = tail[i];
    if (event.type === "final") return finalValue(event);
  }
  return undefined;
}

/** True once a task can no longer change. */
export function isTerminal(status: TaskStatus): boolean {
  return status === "pass" || status === "blocked" || status === "cancelled";
}
