/**
 * The three operator faces the engine calls (reference/engine.md §1–§2). The
 * engine sees operators only through these interfaces; session/ implements them
 * for WebSocket operators, and tests may register their own.
 *
 * @module
 */
import type { OperatorKind } from "../protocol/blueprint.ts";
import type { Json } from "../protocol/json.ts";
import type { RequestRecord } from "../protocol/runs.ts";

/** What faces and layers may read about one attempt. */
export interface CtxView {
  runId: string;
  taskId: string;
  /** 1-based. */
  attempt: number;
  agent: string;
  /** `worker_handle`, `project_name_alias`, … */
  runtime: Record<string, Json>;
  operator: { kind: OperatorKind; id: string };
}

/** Options of every face call that waits. */
export interface FaceCallOptions {
  /** Aborts the wait; its reason is usually a {@link RunEnded}. */
  signal?: AbortSignal;
  /** The run the call belongs to (for logs, persistence and replay). */
  runId?: string;
  /** The attempt the call belongs to. */
  attempt?: number;
}

/** Answers the engine's questions. A rejection means "no answer". */
export interface SeniorBridge {
  ask(taskId: string, question: Json, options?: FaceCallOptions): Promise<Json>;
}

/** Gates spawns (`before` rejects to veto) and watches their results. */
export interface SpawnHook {
  before(ctx: CtxView, options?: FaceCallOptions): Promise<void>;
  after(ctx: CtxView, result: Json): Promise<void>;
}

/** The credentials a worker gets for one attempt. */
export interface WorkerGrant {
  /** The encoded worker CapToken. */
  capabilityToken: string;
  /** The short `wh-` handle. */
  workerHandle: string;
}

/** The outcome of an attempt that completed. */
export interface WorkerResult {
  value: Json;
  ok: boolean;
}

/** Executes a spawn (delegation or `operator`-kind agents). */
export interface Operator {
  execute(
    ctx: CtxView,
    system: string | null,
    prompt: string,
    grant: WorkerGrant,
    signal: AbortSignal,
  ): Promise<WorkerResult>;
}

/**
 * Where a face that delivers operator requests reports them: each request of a
 * run is a record of that run's journal, written by the engine. The face itself
 * persists nothing.
 */
export interface RequestJournal {
  /** Records a request's new state (`pending` = sent, `settled` with its reply, `cancelled`). */
  record(request: RequestRecord): void;
  /** Resolves once every record so far is durable (what a `pong` confirms). */
  durable(): Promise<void>;
}

/** The engine's face registries, keyed by sid or role alias. Plain maps. */
export interface FaceRegistries {
  seniorBridges: Map<string, SeniorBridge>;
  spawnHooks: Map<string, SpawnHook>;
  operators: Map<string, Operator>;
}

/** Creates empty registries. */
export function createRegistries(): FaceRegistries {
  return { seniorBridges: new Map(), spawnHooks: new Map(), operators: new Map() };
}

/**
 * The abort reason of a run's signal: its deadline passed (`timeout`) or it ended
 * or was cancelled (`run_ended`).
 */
export class RunEnded extends Error {
  readonly why: "timeout" | "run_ended";
  constructor(why: "timeout" | "run_ended", message?: string) {
    super(message ?? (why === "timeout" ? "ttl expired" : "run ended"));
    this.name = "RunEnded";
    this.why = why;
  }
}
