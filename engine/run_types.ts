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
  /** The same steps by `<task_id>:<attempt>` (see {@link stepId}). */
  stepsById: Map<string, StepRecord>;
  /** Finished steps by key (answers replays after a restart); made on first use. */
  journal?: Map<string, JournalEntry>;
  /** Tasks by step key (resumes tasks after a restart). */
  tasksByKey: Map<string, TaskState>;
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
