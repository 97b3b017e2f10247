/**
 * The shapes shared by the run engine's modules: a live run and the host
 * services its steps use.
 *
 * @module
 */
import type { Logger } from "../observe/log.ts";
import type {
  JournalEntry,
  RequestRecord,
  RunRecord,
  RunStore,
  StepRecord,
} from "../store/run_store.ts";
import type { FaceRegistries } from "./faces.ts";
import type { RunLog } from "./run_log.ts";
import type { Spawner } from "./spawner.ts";
import type { TaskState } from "./tasks.ts";
import type { TokenAuthority } from "./tokens.ts";

/** A run in this process. */
export interface LiveRun {
  record: RunRecord;
  steps: StepRecord[];
  /** The same steps by {@link stepId}, made once there are more than {@link SCAN_MAX}. */
  stepsById?: Map<string, StepRecord>;
  /** Finished steps by key (answers replays after a restart); made on first use. */
  journal?: Map<string, JournalEntry>;
  /** The run's tasks, oldest first (a step key run again has a newer task after its old one). */
  tasks: TaskState[];
  /** The newest task of each step key, made once there are more than {@link SCAN_MAX}. */
  tasksByKey?: Map<string, TaskState>;
  /**
   * The run's operator requests not cancelled, in the order sent (made on first
   * use): who holds them and for which attempt (their frames are the seat's).
   */
  requests?: RequestRef[];
  log: RunLog;
  controller: AbortController;
  /** Aborts on cancel or deadline, with a `RunEnded` reason. */
  signal: AbortSignal;
  stack: Spawner;
  /** Agents whose steps get a worker token (compile.ts `tokenAgents`). */
  tokenAgents: ReadonlySet<string>;
  /** Resolves with the final record when the run ends. */
  done: Promise<RunRecord>;
}

/** What the engine keeps of an operator request of a live run. */
export type RequestRef = Pick<
  RequestRecord,
  "req_id" | "sid" | "task_id" | "attempt" | "state" | "sent_at"
>;

/** The key of a step in {@link LiveRun.stepsById}. */
export function stepId(taskId: string, attempt: number): string {
  return `${taskId}:${attempt}`;
}

/**
 * Up to this many steps or tasks, a run finds one by scanning its list from the
 * newest; past it, by a map made then. A run parked on its one operator step
 * holds no maps of its own (10,000 parked runs are a benchmark case).
 */
export const SCAN_MAX = 8;

/** The step record of attempt `n` of task `taskId`. */
export function findStep(
  run: Pick<LiveRun, "steps" | "stepsById">,
  taskId: string,
  n: number,
): StepRecord | undefined {
  const { steps } = run;
  if (steps.length <= SCAN_MAX) {
    for (let i = steps.length - 1; i >= 0; i--) {
      if (steps[i].attempt === n && steps[i].task_id === taskId) return steps[i];
    }
    return undefined;
  }
  if (!run.stepsById) {
    run.stepsById = new Map();
    for (const s of steps) run.stepsById.set(stepId(s.task_id, s.attempt), s);
  }
  return run.stepsById.get(stepId(taskId, n));
}

/**
 * `list` with `item` appended, for the caller to keep: a first item starts a
 * new one-slot literal, since a push into an empty array reserves 17 slots
 * (a parked run has one step, one task and one request).
 */
export function appended<T>(list: T[] | undefined, item: T): T[] {
  if (list === undefined || list.length === 0) return [item];
  list.push(item);
  return list;
}

/** Adds a step record to the run's list (and to its map, once made). */
export function addStep(run: Pick<LiveRun, "steps" | "stepsById">, step: StepRecord): void {
  run.steps = appended(run.steps, step);
  run.stepsById?.set(stepId(step.task_id, step.attempt), step);
}

/** The newest task of step key `key`. */
export function findTask(
  run: Pick<LiveRun, "tasks" | "tasksByKey">,
  key: string,
): TaskState | undefined {
  const { tasks } = run;
  if (tasks.length <= SCAN_MAX) {
    for (let i = tasks.length - 1; i >= 0; i--) if (tasks[i].key === key) return tasks[i];
    return undefined;
  }
  if (!run.tasksByKey) {
    run.tasksByKey = new Map();
    for (const t of tasks) run.tasksByKey.set(t.key, t);
  }
  return run.tasksByKey.get(key);
}

/** Adds a task to the run's list (and to its map, once made). */
export function addTask(run: Pick<LiveRun, "tasks" | "tasksByKey">, task: TaskState): void {
  run.tasks = appended(run.tasks, task);
  run.tasksByKey?.set(task.key, task);
}

/** What a step needs from the engine. */
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
  /**
   * Issues one store write of a run without waiting for it: the store applies
   * writes in call order, so a crash loses only a suffix. A failed write is logged.
   */
  write(runId: string, write: () => Promise<void>): void;
  /** Wakes the waiters of an attempt's `final`. */
  finalWaiters: Map<string, Array<() => void>>;
  /** Reads the cluster's seats again (see `EngineDeps.syncSeats`). */
  syncSeats?(): Promise<void>;
}
