/**
 * The shapes shared by the run engine's modules: a live run and the host
 * services a dispatch calls.
 *
 * @module
 */
import type { OutputEvent } from "../protocol/worker.ts";
import type { Logger } from "../observe/log.ts";
import type {
  JournalEntry,
  RunEvent,
  RunRecord,
  RunStore,
  StepRecord,
} from "../store/run_store.ts";
import type { FaceRegistries } from "./faces.ts";
import type { Spawner } from "./spawner.ts";
import type { AttemptState, TaskState } from "./tasks.ts";
import type { TokenAuthority } from "./tokens.ts";

/** A run in this process. */
export interface LiveRun {
  record: RunRecord;
  steps: StepRecord[];
  /** The same steps by `<task_id>:<attempt>` (see {@link stepId}). */
  stepsById: Map<string, StepRecord>;
  /** Finished steps by key (answers replays after a restart). */
  journal: Map<string, JournalEntry>;
  /** Tasks by step key (resumes tasks after a restart). */
  tasksByKey: Map<string, TaskState>;
  events: RunEvent[];
  listeners: Set<(event: RunEvent) => void>;
  controller: AbortController;
  /** Aborts on cancel or deadline, with a `RunEnded` reason. */
  signal: AbortSignal;
  stack: Spawner;
  /** Resolves with the final record when the run ends. */
  done: Promise<RunRecord>;
}

/** The key of a step in {@link LiveRun.stepsById}. */
export function stepId(taskId: string, attempt: number): string {
  return `${taskId}:${attempt}`;
}

/** What a dispatch needs from the engine. */
export interface RunHost {
  registries: FaceRegistries;
  tokens: TokenAuthority;
  store: RunStore;
  log: Logger;
  now(): number;
  /** Tasks of live runs, by id. */
  tasks: Map<string, TaskState>;
  workerTokenTtlSecs: number;
  workerTokenMaxUses: number | null;
  hasOperatorRequests(runId: string, taskId: string, attempt: number): boolean;
  /**
   * Records the start of an attempt: the task (with its worker token), the step
   * and a `step_started` event, stored together before it resolves.
   */
  beginStep(run: LiveRun, task: TaskState, attempt: AttemptState): Promise<StepRecord>;
  /**
   * Records the end of an attempt: its tokens end, and the task, the step, a
   * `step_finished` event and the journal entry (if given) are stored. The writes
   * are issued before it returns; the promise resolves once they are stored and
   * never rejects (a failed write is logged).
   */
  endStep(
    run: LiveRun,
    task: TaskState,
    step: StepRecord,
    verdict: Exclude<StepRecord["verdict"], "running">,
    error?: string,
    entry?: JournalEntry,
  ): Promise<void>;
  appendEvent(task: TaskState, attempt: AttemptState, event: OutputEvent): void;
  finalArrived(task: TaskState, attempt: AttemptState): Promise<void>;
}
