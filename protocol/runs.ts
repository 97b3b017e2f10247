/**
 * The run model: what one run's journal holds (SPEC §5, §10). The engine writes
 * these records and the run store keeps them; neither store/ nor the routes
 * import engine types for them.
 *
 * @module
 */
import { z } from "./zod.ts";
import type { BlueprintNorm } from "./blueprint.ts";
import { OperatorKind } from "./blueprint.ts";
import { CancelReason, ReplyFrame, RequestFrame } from "./frames.ts";
import { SettledBy } from "./operators.ts";
import { Json } from "./json.ts";
import { RunStatus, StepVerdict, TtlSource } from "./tasks.ts";
import { OutputEvent } from "./worker.ts";

export { RunStatus, StepVerdict, TtlSource };

/** The run's operator options, resolved at start. */
export const RunOperator = z.object({
  kind: OperatorKind.optional(),
  id: z.string(),
  spawn_hook_id: z.string().optional(),
  senior_bridge_id: z.string().optional(),
  operator_backend_id: z.string().optional(),
  per_agent_kinds: z.record(z.string(), OperatorKind),
});
/** The run's operator options, resolved at start. */
export type RunOperator = z.infer<typeof RunOperator>;

/** What ended a run that did not succeed. */
export const RunErrorKind = z.enum(["flow", "ttl", "cancelled", "internal"]);
/** What ended a run that did not succeed. */
export type RunErrorKind = z.infer<typeof RunErrorKind>;

/** A stored run, with its ctx checkpoint. */
export const RunRecord = z.object({
  run_id: z.string(),
  status: RunStatus,
  created_at: z.number(),
  finished_at: z.number().optional(),
  /** Epoch ms when the TTL ends. */
  deadline_at: z.number(),
  /** Normalized by engine/blueprint before a run starts; not re-checked here. */
  blueprint: z.custom<BlueprintNorm>(),
  bound_version: z.string().nullable(),
  effective_ttl_secs: z.number(),
  ttl_source: TtlSource,
  operator: RunOperator,
  init_ctx: Json,
  /** The root ctx after the last finished root-scope step. */
  ctx: Json,
  final_ctx: Json.optional(),
  error: z.string().optional(),
  error_kind: RunErrorKind.optional(),
  /** How many times the server stopped while the run was executing (quarantine). */
  stops: z.number().int().optional(),
});
/** A stored run, with its ctx checkpoint. */
export type RunRecord = z.infer<typeof RunRecord>;

/** A step as listed in `GET /v1/runs/:id`. */
export const StepRecord = z.object({
  seq: z.number().int(),
  key: z.string(),
  task_id: z.string(),
  agent: z.string(),
  attempt: z.number().int(),
  verdict: StepVerdict,
  started_at: z.number(),
  finished_at: z.number().optional(),
  error: z.string().optional(),
  /** The root ctx after this step finished (root-scope steps; see the run trace). */
  ctx_after: Json.optional(),
  /** Set instead of `ctx_after` when that ctx was too large to keep (its size in bytes). */
  ctx_after_bytes: z.number().int().optional(),
});
/** A step as listed in `GET /v1/runs/:id`. */
export type StepRecord = z.infer<typeof StepRecord>;

/** The outcome of a finished step, by step key (answers replays after a restart). */
export const JournalEntry = z.union([
  z.object({ key: z.string(), ok: z.literal(true), value: Json }),
  z.object({ key: z.string(), ok: z.literal(false), error: z.string() }),
]);
/** The outcome of a finished step, by step key. */
export type JournalEntry = z.infer<typeof JournalEntry>;

/** One entry of a run's event log. */
export const RunEvent = z.object({
  /** 1-based, gap-free per run. */
  id: z.number().int(),
  type: z.string(),
  at: z.number(),
  data: Json,
});
/** One entry of a run's event log. */
export type RunEvent = z.infer<typeof RunEvent>;

/** Task statuses; `pass`, `blocked` and `cancelled` are terminal. */
export const TaskStatus = z.enum(["pending", "running", "pass", "blocked", "cancelled"]);
/** Task statuses; `pass`, `blocked` and `cancelled` are terminal. */
export type TaskStatus = z.infer<typeof TaskStatus>;

/** One attempt of a task. */
export const AttemptState = z.object({
  n: z.number().int(),
  prompt: z.string(),
  /** The rendered system prompt; absent when none was baked. */
  system: z.string().nullable().optional(),
  tail: z.array(OutputEvent),
  started_at: z.number(),
  finished_at: z.number().optional(),
  /** The attempt's worker token (kept to resume after a restart); absent when none was minted. */
  nonce: z.string().optional(),
  token: z.string().optional(),
  handle: z.string().optional(),
});
/** One attempt of a task. */
export type AttemptState = z.infer<typeof AttemptState>;

/** A task: one execution of one flow step. */
export const TaskState = z.object({
  id: z.string(),
  run_id: z.string(),
  /** The step key inside the run (see engine/flow). */
  key: z.string(),
  agent: z.string(),
  /** The step's input as text: the prompt of every attempt. */
  directive: z.string(),
  status: TaskStatus,
  /** The current attempt number (0 before the first dispatch). */
  attempt: z.number().int(),
  attempts: z.array(AttemptState),
  last_result: Json,
  created_at: z.number(),
  updated_at: z.number(),
});
/** A task: one execution of one flow step. */
export type TaskState = z.infer<typeof TaskState>;

/** Capability-token roles. */
export const TokenRole = z.enum(["operator", "worker", "observer", "senior"]);

/** The server-side record of a capability token. */
export const TokenRecord = z.object({
  nonce: z.string(),
  role: TokenRole,
  run_id: z.string().optional(),
  task_id: z.string().optional(),
  /** null = unlimited. */
  uses_left: z.number().int().nullable(),
  /** Set when the token's run has ended: the token and its handle stop working (410). */
  ended: z.boolean(),
  /**
   * Set when the token's task has ended: its worker handle stops working (410); the
   * token itself works until its run ends (routes of the task check the task).
   */
  task_ended: z.boolean().optional(),
  handle: z.string().optional(),
  /** The token's expiry (unix seconds), which its handle shares. */
  expire_at: z.number().int().optional(),
});
/** The server-side record of a capability token. */
export type TokenRecord = z.infer<typeof TokenRecord>;

/** The kind of an operator request: `ask`, `hb` (hook_before) or `spawn`. */
export const RequestKind = z.enum(["ask", "hb", "spawn"]);
/** The kind of an operator request. */
export type RequestKind = z.infer<typeof RequestKind>;

/**
 * An operator request of a run, as its journal holds it: sent (`pending`),
 * answered (`settled`, with the reply, until the run takes it) or `cancelled`.
 */
export const RequestRecord = z.object({
  req_id: z.string(),
  sid: z.string(),
  kind: RequestKind,
  run_id: z.string().optional(),
  task_id: z.string(),
  attempt: z.number().int(),
  frame: RequestFrame,
  sent_at: z.number(),
  /**
   * Orders the requests one process sent in the same millisecond (a count per
   * process), so a restart replays them in the order first sent; older records lack it.
   */
  seq: z.number().int().optional(),
  state: z.enum(["pending", "settled", "cancelled"]),
  reply: ReplyFrame.optional(),
  /** The role the request was addressed to, when it went to a role (inbox, metrics). */
  role: z.string().optional(),
  /** When the request times out at the latest (its own timeout or its run's deadline). */
  deadline_at: z.number().optional(),
  /** Tells requests of one attempt apart beyond their kind (see `FaceCallOptions.slot`). */
  slot: z.string().optional(),
  /** The audit of its settlement: who, when, the value, the verdict, any edits. */
  settled: z.object({
    by: SettledBy,
    at: z.number(),
    value: Json,
    ok: z.boolean(),
    edits: Json.optional(),
  }).optional(),
  /** Why it was cancelled. */
  cancelled: CancelReason.optional(),
});
/** An operator request of a run. */
export type RequestRecord = z.infer<typeof RequestRecord>;

/** Orders requests as first sent: by `sent_at`, then by `seq` within a millisecond. */
export function sentOrder(a: RequestRecord, b: RequestRecord): number {
  return a.sent_at - b.sent_at || (a.seq ?? 0) - (b.seq ?? 0);
}
