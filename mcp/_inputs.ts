/**
 * Input schemas of the MCP tools. The SDK validates every call against them.
 *
 * @module
 */
import { z } from "zod";
import { Json } from "../protocol/json.ts";

/** The longest wait a tool accepts. */
export const MAX_WAIT_SECS = 300;

/** `operator_join` input. */
export const JoinInput = z.object({
  roles: z.array(z.string().min(1)).default([]).describe("Roles (aliases) this seat holds"),
  sid: z.string().min(1).optional().describe("Existing seat to join (with token)"),
  token: z.string().min(1).optional().describe("Token of the existing seat"),
});

/** `operator_pending` input. */
export const PendingInput = z.object({
  wait_secs: z.number().min(0).max(MAX_WAIT_SECS).default(0)
    .describe("Seconds to wait for a request when none is pending"),
});

/** `operator_reply` input. */
export const ReplyInput = z.object({
  req_id: z.string().min(1).describe("The req_id of a pending request"),
  value: Json.optional().describe("ask: the answer; spawn: the result value"),
  ok: z.boolean().optional().describe("hook_before: approve/veto; spawn: verdict"),
  reason: z.string().optional().describe("hook_before: why it was vetoed"),
  input: Json.optional().describe(
    "hook_before with ok=true: approve with edits (this replaces the step's input)",
  ),
  error: z.string().optional().describe("spawn: fail the attempt with this text"),
});

/** `run_start` input. */
export const RunStartInput = z.object({
  blueprint: z.union([z.string().min(1), z.record(z.string(), Json)])
    .describe('A stored blueprint id ("main"), a ref {kind, …}, or an inline document'),
  init_ctx: Json.default({}).describe("The run's starting ctx"),
  ttl_secs: z.int().min(0).optional().describe("Deadline of the whole run, in seconds"),
  operator: z.record(z.string(), Json).optional()
    .describe("Run operator options (kind, senior_bridge_id, spawn_hook_id, …)"),
  operator_sid: z.string().optional().describe("Seat that executes delegated spawns"),
  use_my_seat: z.boolean().default(false)
    .describe("Route this run's asks, hooks and delegated spawns to this seat"),
});

/** `run_status` input. */
export const RunStatusInput = z.object({
  run_id: z.string().min(1),
  wait_secs: z.number().min(0).max(MAX_WAIT_SECS).default(0)
    .describe("Seconds to wait for the run to end"),
});

/** `worker_prompt` input. */
export const WorkerPromptInput = z.object({
  handle: z.string().min(1).describe("The spawn's worker_handle (wh-…)"),
  task_id: z.string().min(1).optional()
    .describe("The spawn's task_id; needed only for a spawn this seat did not receive"),
});

/** `worker_submit` input. */
export const WorkerSubmitInput = z.object({
  handle: z.string().min(1).describe("The spawn's worker_handle (wh-…)"),
  value: Json.optional().describe("The result as JSON (posted as a typed value)"),
  text: z.string().optional().describe("The result as raw text (when value is not given)"),
  ok: z.boolean().default(true).describe("false reports the attempt as not ok (blocked)"),
});
