/**
 * Worker and data-path shapes (reference/http.md §5, §6, §11.3).
 *
 * @module
 */
import { z } from "./zod.ts";
import { absent } from "./absent.ts";
import { Json } from "./json.ts";

const U32 = z.int().min(0).max(4294967295);

/** Where an output's content lives. `mime` and `size_hint` may be omitted; they read back null (§11.3). */
export const ContentRef = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("inline"), value: Json }),
  z.object({
    kind: z.literal("file_ref"),
    path: z.string(),
    mime: z.string().nullable().default(null),
    size_hint: z.int().min(0).nullable().default(null),
  }),
]);
export type ContentRef = z.infer<typeof ContentRef>;

/**
 * One event of an attempt's output tail; only `final` decides the verdict. A
 * progress `note` may be omitted; it reads back null (reference/http.md §11.3).
 */
export const OutputEvent = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("progress"),
    stage: z.string(),
    note: z.string().nullable().default(null),
  }),
  z.object({ type: z.literal("partial"), chunk: ContentRef }),
  z.object({ type: z.literal("artifact"), name: z.string(), content: ContentRef }),
  z.object({ type: z.literal("final"), content: ContentRef, ok: z.boolean() }),
]);
export type OutputEvent = z.infer<typeof OutputEvent>;

/** `GET /v1/worker/prompt?task_id=` query. */
export const PromptQuery = z.object({ task_id: z.string().min(1) });

/** `GET /v1/worker/prompt` answer. `system` is omitted when none was baked. */
export const WorkerPayload = z.object({
  task_id: z.string(),
  attempt: z.int().min(1),
  agent: z.string(),
  system: z.string().optional(),
  prompt: z.string(),
});
export type WorkerPayload = z.infer<typeof WorkerPayload>;

/** `POST /v1/worker/result` body. */
export const WorkerResultBody = z.object({
  task_id: z.string(),
  value: Json,
  /** `true` when absent or `null`. */
  ok: z.boolean().nullish().transform((ok) => ok ?? true),
  /** Any u32: an attempt that is not the current one (0 included) is a 409, not a 422. */
  attempt: absent(U32),
});
export type WorkerResultBody = z.infer<typeof WorkerResultBody>;

/** `POST /v1/worker/submit?ok=` query. */
export const SubmitQuery = z.object({ ok: z.enum(["true", "false"]).optional() });

/** The longest `wait_secs` of `POST /v1/worker/ask`. */
export const MAX_ASK_WAIT_SECS = 300;

/**
 * `POST /v1/worker/ask` body: a spawned worker asks the operator that received
 * its spawn. The call waits up to `wait_secs` (default 30) for the answer.
 */
export const WorkerAskBody = z.object({
  question: Json,
  schema: z.record(z.string(), Json).optional(),
  wait_secs: z.number().min(0).max(MAX_ASK_WAIT_SECS).default(30),
});
export type WorkerAskBody = z.infer<typeof WorkerAskBody>;

/** `POST /v1/worker/ask` answered in time (200). */
export const WorkerAskAnswer = z.object({ value: Json });

/** `POST /v1/worker/ask` not answered within `wait_secs` (202): poll `GET …/ask/:req_id`. */
export const WorkerAskAccepted = z.object({ req_id: z.string() });

/** `GET /v1/worker/ask/:req_id` answer. */
export const WorkerAskState = z.object({
  req_id: z.string(),
  state: z.enum(["pending", "settled", "cancelled"]),
  value: Json.optional(),
  reason: z.string().optional(),
});
export type WorkerAskState = z.infer<typeof WorkerAskState>;

/** `POST /v1/data/emit` body. */
export const DataEmitBody = z.object({
  task_id: z.string(),
  attempt: U32,
  producer_agent: z.string(),
  event: OutputEvent,
  parent_refs: z.array(z.string()).default([]),
});
export type DataEmitBody = z.infer<typeof DataEmitBody>;

/** `POST /v1/data/:name` body: the producer comes from the path. */
export const DataNamedBody = DataEmitBody.omit({ producer_agent: true });
export type DataNamedBody = z.infer<typeof DataNamedBody>;

/** `?token=` on the data emits. */
export const DataTokenQuery = z.object({ token: z.string().optional() });

/** A stored data-path record. */
export const OutputRecord = z.object({
  id: z.string(),
  task_id: z.string(),
  attempt: U32,
  producer_agent: z.string(),
  event: OutputEvent,
  parent_refs: z.array(z.string()),
});
export type OutputRecord = z.infer<typeof OutputRecord>;

/** `POST /v1/data/*` answer. */
export const DataEmitted = z.object({ out_id: z.string() });

/** `POST /v1/sessions` body. */
export const AttachSessionBody = z.object({
  agent_id: z.string(),
  role: z.string(),
  ttl_secs: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
});
export type AttachSessionBody = z.infer<typeof AttachSessionBody>;

/** `POST /v1/sessions` answer. */
export const AttachedSession = z.object({ session_id: z.string(), role: z.string() });
