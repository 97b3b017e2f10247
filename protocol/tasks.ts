/**
 * Bodies and answers of `POST /v1/tasks` and the async run routes (SPEC §5).
 *
 * @module
 */
import { z } from "./zod.ts";
import { absent } from "./absent.ts";
import { Json } from "./json.ts";
import { BlueprintRef } from "./blueprint.ts";
import { RunRequest } from "./operators.ts";

/** The run's operator options. Kinds are checked later (400), unknown keys ignored. */
export const RunOperatorBody = z.object({
  kind: absent(z.string()),
  id: absent(z.string()),
  spawn_hook_id: absent(z.string()),
  senior_bridge_id: absent(z.string()),
  operator_backend_id: absent(z.string()),
  per_agent_kinds: absent(z.record(z.string(), z.string())),
});
export type RunOperatorBody = z.infer<typeof RunOperatorBody>;

/** `POST /v1/tasks` and `POST /v1/runs` body. */
export const TaskBody = z.object({
  blueprint: BlueprintRef,
  init_ctx: Json,
  ttl_secs: absent(z.int().min(0).max(Number.MAX_SAFE_INTEGER)),
  operator: absent(RunOperatorBody),
  operator_sid: absent(z.string()),
  /** Seats minted for this run alone (scoped to it, deleted when it ends). */
  seats: absent(z.array(z.object({ role: z.string().min(1) })).max(16)),
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
  /** The `id` of the run's Blueprint (stored or inline). */
  blueprint_id: z.string().optional(),
  created_at: z.string(),
  finished_at: z.string().optional(),
  bound_version: z.string().nullable(),
  effective_ttl_secs: z.int(),
  ttl_source: TtlSource,
  init_ctx: Json.optional(),
  final_ctx: Json.optional(),
  error: z.string().optional(),
  steps: z.array(RunStep),
  /** The run's operator requests and who settled them (the audit). */
  requests: z.array(RunRequest).optional(),
});
export type RunInfo = z.infer<typeof RunInfo>;

/** `GET /v1/runs` answer, newest first. */
export const RunList = z.object({
  runs: z.array(RunInfo),
  /** Runs matching the filters (within the newest {@link RUN_SCAN_MAX}). */
  total: z.int().min(0).optional(),
  /** Pass as `before` for the next page; absent on the last page. */
  next_before: z.string().optional(),
});

/** How many of the newest runs the list's filters and cursor look through. */
export const RUN_SCAN_MAX = 5000;

/** `GET /v1/runs` query: filters, id search and a cursor. */
export const RunListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  status: RunStatus.optional(),
  /** Only runs of this Blueprint id. */
  blueprint: z.string().min(1).optional(),
  /** Only runs whose id contains this text. */
  q: z.string().min(1).max(100).optional(),
  /** The cursor: only runs older than this run id (the last one of the previous page). */
  before: z.string().min(1).optional(),
});
export type RunListQuery = z.infer<typeof RunListQuery>;

/** One step of `GET /v1/runs/:id/trace`: its input and output, as the worker saw them. */
export const TraceStep = z.object({
  task_id: z.string(),
  /** The step's position in the flow (a JSON pointer). */
  key: z.string().optional(),
  agent: z.string(),
  attempt: z.int(),
  verdict: StepVerdict,
  started_at: z.string(),
  finished_at: z.string().optional(),
  duration_ms: z.number().optional(),
  /** The prompt the attempt got (the rendered step input). */
  input: z.string().optional(),
  /** The attempt's final value and verdict, when it posted one. */
  output: Json.optional(),
  ok: z.boolean().optional(),
  error: z.string().optional(),
  /** The run's root ctx right after this step (root-scope steps only). */
  ctx_after: Json.optional(),
  /** Set instead of `ctx_after` when that ctx was too large to keep (its size in bytes). */
  ctx_after_bytes: z.int().optional(),
});

/** `GET /v1/runs/:id/trace` answer. */
export const RunTrace = z.object({ run_id: z.string(), steps: z.array(TraceStep) });

/** One event of `GET /v1/runs/feed` (its `data`): a run started or ended. */
export const RunFeedData = z.object({
  type: z.enum(["run_started", "run_ended"]),
  run: RunInfo,
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
