/**
 * Output schemas of the MCP tools: each tool returns this shape as
 * `structuredContent` (and the same JSON as text). Loose objects, so a field the
 * server adds later does not break a client that validates.
 *
 * @module
 */
import { z } from "zod";
import { Json } from "../protocol/json.ts";

const Item = z.record(z.string(), Json);

/** `operator_join` output: never the token. */
export const JoinOutput = z.looseObject({
  sid: z.string(),
  roles: z.array(z.string()),
  state: z.string(),
  elicitation: z.boolean().describe("Whether asks with a form schema go to the user as a form"),
});

/** `operator_pending` output. */
export const PendingOutput = z.looseObject({
  sid: z.string(),
  state: z.string(),
  pending: z.array(Item),
  events: z.array(Item),
});

/** `operator_reply` output. */
export const ReplyOutput = z.looseObject({
  req_id: z.string(),
  settled: z.boolean(),
  pending: z.int(),
});

/** `run_start` output. */
export const RunStartOutput = z.looseObject({ run_id: z.string(), status: z.string() });

/** `run_status` output (the run as `GET /v1/runs/:id` shows it). */
export const RunStatusOutput = z.looseObject({
  run_id: z.string(),
  status: z.string(),
  steps: z.array(Item),
});

/** `worker_prompt` output. */
export const WorkerPromptOutput = z.looseObject({
  task_id: z.string(),
  prompt: z.string(),
  system: z.string().nullable().optional(),
});

/** `worker_submit` output. */
export const WorkerSubmitOutput = z.looseObject({
  task_id: z.string(),
  posted: z.boolean(),
  spawn_settled: z.boolean(),
});
