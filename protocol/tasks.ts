/**
 * Bodies and answers of `POST /v1/tasks` and the async run routes (SPEC §5).
 *
 * @module
 */
import { z } from "./zod.ts";
import { Json } from "./json.ts";
import { BlueprintRef } from "./blueprint.ts";
import { RunRequest } from "./operators.ts";

/** The run's operator options. Kinds are checked later (400), unknown keys ignored. */
export const RunOperatorBody = z.object({
  kind: z.string().optional(),
  id: z.string().optional(),
  spawn_hook_id: z.string().optional(),
  senior_bridge_id: z.string().optional(),
  operator_backend_id: z.string().optional(),
  per_agent_kinds: z.record(z.string(), z.string()).optional(),
});
export type RunOperatorBody = z.infer<typeof RunOperatorBody>;

/** `POST /v1/tasks` and `POST /v1/runs` body. */
export const TaskBody = z.object({
  blueprint: BlueprintRef,
  init_ctx: Json,
  ttl_secs: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  operator: RunOperatorBody.optional(),
  operator_sid: z.string().optional(),
  /** Seats minted for this run alone (scoped to it, deleted when it ends). */
  seats: z.array(z.object({ role: z.string().min(1) })).max(16).optional(),
});
export type TaskBody = z.infer<typeof TaskBody>;

/** Where the TTL came from. */
export const TtlSource = z.enum(["request_body", "bp_metadata", "server_default"]);
export type TtlSource = z.infer<typeof TtlSource>;

/** `POST /v1/tasks` answer. */
export const TaskResult = z.object({
  final_ctx: Json,
  bound_version: z.string().nullable(),
  effective_ttl_secs: z.int(),
  ttl_source: TtlSource,
});
export type TaskResult = z.infer<typeof TaskResult>;

/** Run statuses. */
export const RunStatus = z.enum(["running", "succeeded", "failed", "cancelled"]);
export type RunStatus = z.infer<typeof RunStatus>;

/** A seat minted for one run by `POST /v1/runs` `seats` (its token is shown once). */
export const RunSeat = z.object({ sid: z.string(), token: z.string(), role: z.string() });
export type RunSeat = z.infer<typeof RunSeat>;

/** `POST /v1/runs` answer (202). */
export const RunAccepted = z.object({
  run_id: z.string(),
  status: RunStatus,
  seats: z.array(RunSeat).optional(),
});
export type RunAccepted = z.infer<typeof RunAccepted>;

/** How a step ended (or `running`). */
export const StepVerdict = z.enum(["running", "pass", "blocked", "failed", "cancelled"]);
export type StepVerdict = z.infer<typeof StepVerdict>;

/** One step of a run. */
export const RunStep = z.object({
  task_id: z.string(),
  agent: z.string(),
  attempt: z.int(),
  verdict: StepVerdict,
  started_at: z.string(),
  finished_at: z.string().optional(),
});

/** `GET /v1/runs/:id` answer. */
export const RunInfo = z.object({
  run_id: z.string(),
  status: RunStatus,
  created_at: z.string(),
  finished_at: z.string().optional(),
  bound_version: z.string().nullable(),
  effective_ttl_secs: z.int(),
  ttl_source: TtlSource,
  final_ctx: Json.optional(),
  error: z.string().optional(),
  steps: z.array(RunStep),
  /** The run's operator requests and who settled them (the audit). */
  requests: z.array(RunRequest).optional(),
});
export type RunInfo = z.infer<typeof RunInfo>;

/** `GET /v1/runs` answer, newest first. */
export const RunList = z.object({ runs: z.array(RunInfo) });

/** `GET /v1/runs?limit=` query. */
export const RunListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  status: RunStatus.optional(),
});

/** One Server-Sent Event of `GET /v1/runs/:id/events` (its `data`). */
export const RunEventData = z.object({
  id: z.int(),
  type: z.enum([
    "run_started",
    "run_resumed",
    "step_started",
    "step_finished",
    "operator_request_sent",
    "operator_request_settled",
    "operator_request_cancelled",
    "run_ended",
  ]),
  at: z.string(),
  data: Json,
});
