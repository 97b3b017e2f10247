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
import type { RequestContext } from "../protocol/frames.ts";

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
  /** What request frames of this attempt carry as `context`. */
  context?: RequestContext;
  /** The run's deadline (epoch ms): no request of it waits longer. */
  deadlineAt?: number;
}

/** Options of every face call that waits. */
export interface FaceCallOptions {
  /** Aborts the wait; its reason is usually a {@link RunEnded}. */
  signal?: AbortSignal;
  /** The run the call belongs to (for logs, persistence and replay). */
  runId?: string;
  /** The attempt the call belongs to. */
  attempt?: number;
  /** The request's `context`. */
  context?: RequestContext;
  /** A JSON Schema the answer must validate against (an ask). */
  schema?: Record<string, Json>;
  /** A nested ask: the req_id of the spawn whose worker asks. */
  parentReqId?: string;
  /** The role the request is addressed to (inbox and metrics). */
  role?: string;
  /** When the request times out at the latest (epoch ms, inbox). */
  deadlineAt?: number;
  /**
   * Tells requests of one attempt apart when one attempt may make several (an
   * ask node's escalation, nested asks). Requests with the same run, task,
   * attempt, kind and slot are one request (a replay after a restart finds it).
   */
  slot?: string;
}

/** Answers the engine's questions. A rejection means "no answer". */
export interface SeniorBridge {
  ask(taskId: string, question: Json, options?: FaceCallOptions): Promise<Json>;
}

/** What an approval may change: `input` replaces the step's input (approve with edits). */
export interface HookEdits {
  input?: Json;
}

/** Gates spawns (`before` rejects to veto, or resolves with edits) and watches their results. */
export interface SpawnHook {
  before(ctx: CtxView, options?: FaceCallOptions): Promise<void | HookEdits>;
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

/** Something that implements every face (a seat). */
export type SeatFace = SeniorBridge & SpawnHook & Operator;

/**
 * The engine's face registries, keyed by sid or role alias. Plain maps. Roles of
 * scoped seats live in `scopes`, by {@link scopeKey}, and are found only by
 * {@link resolveFace} for a run of that scope.
 */
export interface FaceRegistries {
  seniorBridges: Map<string, SeniorBridge>;
  spawnHooks: Map<string, SpawnHook>;
  operators: Map<string, Operator>;
  /** Scope key → role → seat. */
  scopes: Map<string, Map<string, SeatFace>>;
}

/** Creates empty registries. */
export function createRegistries(): FaceRegistries {
  return {
    seniorBridges: new Map(),
    spawnHooks: new Map(),
    operators: new Map(),
    scopes: new Map(),
  };
}

/** The run a face is resolved for: its id and its Blueprint's id. */
export interface FaceScope {
  runId?: string;
  blueprintId?: string;
}

/** The key of a scope in {@link FaceRegistries.scopes}. */
export function scopeKey(scope: { run_id: string } | { blueprint_id: string }): string {
  return "run_id" in scope ? `run:${scope.run_id}` : `bp:${scope.blueprint_id}`;
}

/** The face each registry holds. */
interface FaceKinds {
  seniorBridges: SeniorBridge;
  spawnHooks: SpawnHook;
  operators: Operator;
}

/**
 * Finds the face named `name` (a sid or a role) for a run: a seat scoped to the
 * run first, then one scoped to its Blueprint, then the unscoped holder.
 */
export function resolveFace<K extends keyof FaceKinds>(
  registries: FaceRegistries,
  kind: K,
  name: string,
  scope: FaceScope = {},
): FaceKinds[K] | undefined {
  const { scopes } = registries;
  if (scopes.size > 0) {
    const byRun = scope.runId === undefined ? undefined : scopes.get(`run:${scope.runId}`);
    const inRun = byRun?.get(name);
    if (inRun) return inRun;
    const byBp = scope.blueprintId === undefined
      ? undefined
      : scopes.get(`bp:${scope.blueprintId}`);
    const inBp = byBp?.get(name);
    if (inBp) return inBp;
  }
  // `as`: registries[kind] is the map of FaceKinds[K]; TS cannot index it generically.
  return (registries[kind] as Map<string, FaceKinds[K]>).get(name);
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
