/**
 * The spawner contract (reference/engine.md §4.1): a spawner starts a worker for
 * one attempt and returns its completion. Layers wrap spawners; workers are the
 * innermost spawners, chosen by agent kind.
 *
 * A spawner rejects with a {@link SpawnError} when the worker never started, and
 * `done` rejects with a {@link WorkerError} when it started and failed.
 *
 * @module
 */
import type { CapToken } from "./captoken.ts";
import type { CtxView, Operator, SeniorBridge, SpawnHook, WorkerGrant } from "./faces.ts";
import type { Json } from "../protocol/json.ts";
import type { OutputEvent } from "../protocol/worker.ts";
import type { AttemptState, FinalValue, TaskState } from "./tasks.ts";

/** The faces resolved for one attempt (absent = the layer passes through). */
export interface ResolvedFaces {
  hook?: SpawnHook;
  bridge?: SeniorBridge;
  backend?: Operator;
}

/** Everything a layer or worker can see and do for one attempt. */
export interface AttemptContext {
  ctx: CtxView;
  /**
   * The attempt's worker credentials: minted only for steps whose worker can use
   * them (operator and webhook kinds, or a delegating backend; see
   * `tokenAgents` in compile.ts), absent for in-process function steps.
   */
  grant?: WorkerGrant;
  token?: CapToken;
  faces: ResolvedFaces;
  task: TaskState;
  attempt: AttemptState;
  /** The run's signal: aborts on deadline or cancel. */
  signal: AbortSignal;
  /** Appends an event to this attempt's tail. */
  append(event: OutputEvent): void;
  /** The last `final` of this attempt's tail. */
  lastFinal(): FinalValue | undefined;
  /** Records the rendered system prompt of this attempt (null = none). */
  setSystem(system: string | null): void;
  /** Resolves when a `final` is in the tail (now or later). */
  finalArrived(): Promise<void>;
  /** Extra text for a `blocked` verdict: a senior's refusal, or why no senior answered. */
  blockNote?: string;
}

/** A started worker. */
export interface Spawned {
  /** Resolves when the worker completed; rejects with a {@link WorkerError}. */
  done: Promise<void>;
}

/** Starts a worker for one attempt. */
export type Spawner = (attempt: AttemptContext) => Promise<Spawned>;

/** The worker never started (hook veto, render error, unknown agent, …). */
export class SpawnError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SpawnError";
  }
}

/** The worker started and failed. */
export class WorkerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WorkerError";
  }
}

/** The attempt's worker credentials; a {@link SpawnError} when none were minted. */
export function grantOf(a: AttemptContext): WorkerGrant {
  if (!a.grant) throw new SpawnError(`no worker token was minted for agent ${a.ctx.agent}`);
  return a.grant;
}

/** The message of any thrown value. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A `final` event with an inline value. */
export function inlineFinal(value: Json, ok: boolean): OutputEvent {
  return { type: "final", content: { kind: "inline", value }, ok };
}

/** Wraps a completion so an unobserved rejection is never reported as unhandled. */
export function spawned(done: Promise<void>): Spawned {
  done.catch(() => {});
  return { done };
}
