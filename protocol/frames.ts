/**
 * Operator WebSocket frames (SPEC §4, reference/http.md §9.4–9.5). Every frame is
 * one text message with one JSON object tagged by `type`. Request ids have the
 * form `<sid>-<ask|hb|ha|spawn>-<uuid>`.
 *
 * @module
 */
import { z } from "./zod.ts";
import { Json } from "./json.ts";
import { Issue } from "./issues.ts";

const ReqId = z.string().min(1);

/** The longest step input a request's `context` carries (64 KiB); longer is cut. */
export const CONTEXT_INPUT_MAX = 64 * 1024;

/**
 * Where a request comes from: its run, Blueprint, step and the step's rendered
 * input (the prompt), cut at {@link CONTEXT_INPUT_MAX} with `input_truncated`.
 * An `ask` node has no agent: it names its flow position in `step` instead.
 */
export const RequestContext = z.object({
  run_id: z.string(),
  blueprint_id: z.string(),
  blueprint_version: z.string().nullable(),
  agent: z.string().optional(),
  attempt: z.int().min(1).optional(),
  /** The step key (the node's JSON pointer in the flow). */
  step: z.string().optional(),
  input: Json.optional(),
  input_truncated: z.boolean().optional(),
});
export type RequestContext = z.infer<typeof RequestContext>;

// ---------------------------------------------------------------------------
// server → client

/**
 * A question for the operator (senior bridge, `ask` node or nested ask). Reply:
 * `answer`, which must validate against `schema` when one is given.
 */
export const AskFrame = z.object({
  type: z.literal("ask"),
  req_id: ReqId,
  task_id: z.string(),
  question: Json,
  schema: z.record(z.string(), Json).optional().meta({
    description: "A JSON Schema (2020-12) the answer must validate against.",
  }),
  /** A nested ask: the req_id of the spawn whose worker asks. */
  parent_req_id: z.string().optional().meta({
    description: "A nested ask: the req_id of the spawn whose worker asks.",
  }),
  context: RequestContext.optional().meta({
    description: "Where the request comes from: run, Blueprint, agent, attempt, step input.",
  }),
});
export type AskFrame = z.infer<typeof AskFrame>;

/** A spawn about to start; the operator approves or vetoes it. Reply: `hook_ack`. */
export const HookBeforeFrame = z.object({
  type: z.literal("hook_before"),
  req_id: ReqId,
  task_id: z.string(),
  agent: z.string(),
  attempt: z.int().min(1),
  context: RequestContext.optional().meta({
    description: "Where the request comes from: run, Blueprint, agent, attempt, step input.",
  }),
});
export type HookBeforeFrame = z.infer<typeof HookBeforeFrame>;

/** The result of a finished spawn. Fire and forget: no reply. */
export const HookAfterFrame = z.object({
  type: z.literal("hook_after"),
  req_id: ReqId,
  task_id: z.string(),
  agent: z.string(),
  attempt: z.int().min(1),
  result: Json,
  context: RequestContext.optional().meta({
    description: "Where the request comes from: run, Blueprint, agent, attempt, step input.",
  }),
});
export type HookAfterFrame = z.infer<typeof HookAfterFrame>;

/** Execution delegated to the operator. Reply: `spawn_ack`. */
export const SpawnFrame = z.object({
  type: z.literal("spawn"),
  req_id: ReqId,
  task_id: z.string(),
  agent: z.string(),
  attempt: z.int().min(1),
  capability_token: z.string(),
  worker_handle: z.string().optional(),
  directive: z.string(),
  context: RequestContext.optional().meta({
    description: "Where the request comes from: run, Blueprint, agent, attempt, step input.",
  }),
});
export type SpawnFrame = z.infer<typeof SpawnFrame>;

/** Why a request no longer wants an answer. */
export const CancelReason = z.enum([
  "timeout",
  "run_ended",
  "session_deleted",
  /** A nested ask whose spawn was settled or cancelled. */
  "parent_ended",
]);
export type CancelReason = z.infer<typeof CancelReason>;

/** The request `req_id` no longer wants an answer. */
export const CancelFrame = z.object({
  type: z.literal("cancel"),
  req_id: ReqId,
  reason: CancelReason,
});
export type CancelFrame = z.infer<typeof CancelFrame>;

/**
 * The client's last frame was refused; the socket stays open. `issues` lists why
 * an answer does not validate against its ask's `schema` (the ask stays pending).
 */
export const ErrorFrame = z.object({
  type: z.literal("error"),
  error: z.string(),
  req_id: z.string().optional(),
  issues: z.array(Issue).optional().meta({
    description: "Why an answer does not validate against its ask's schema.",
  }),
});
export type ErrorFrame = z.infer<typeof ErrorFrame>;

/** The answer to a client `ping`. */
export const PongFrame = z.object({ type: z.literal("pong") });
export type PongFrame = z.infer<typeof PongFrame>;

/** A request frame that waits for a reply (replayed on reconnect). */
export const RequestFrame = z.discriminatedUnion("type", [AskFrame, HookBeforeFrame, SpawnFrame]);
export type RequestFrame = z.infer<typeof RequestFrame>;

/** Any server → client frame. */
export const ServerFrame = z.discriminatedUnion("type", [
  AskFrame,
  HookBeforeFrame,
  HookAfterFrame,
  SpawnFrame,
  CancelFrame,
  ErrorFrame,
  PongFrame,
]);
export type ServerFrame = z.infer<typeof ServerFrame>;

// ---------------------------------------------------------------------------
// client → server (unknown extra fields are ignored)

/** Answers an `ask`. `value` is required and may be null. */
export const AnswerFrame = z.object({ type: z.literal("answer"), req_id: ReqId, value: Json });
export type AnswerFrame = z.infer<typeof AnswerFrame>;

/**
 * Approves (`ok: true`) or vetoes a `hook_before`. An approval may carry `input`,
 * which replaces the step's input (approve with edits; recorded in the audit).
 */
export const HookAckFrame = z.object({
  type: z.literal("hook_ack"),
  req_id: ReqId,
  ok: z.boolean(),
  reason: z.string().nullish(),
  input: Json.optional().meta({
    description: "Approve with edits: replaces the step's input (recorded in the audit).",
  }),
});
export type HookAckFrame = z.infer<typeof HookAckFrame>;

/** Completes a `spawn`. A present `error` fails the attempt whatever `ok` says. */
export const SpawnAckFrame = z.object({
  type: z.literal("spawn_ack"),
  req_id: ReqId,
  value: Json.default(null),
  ok: z.boolean().default(true),
  error: z.string().nullish(),
});
export type SpawnAckFrame = z.infer<typeof SpawnAckFrame>;

/** Keep-alive; the server answers `pong`. */
export const PingFrame = z.object({ type: z.literal("ping") });
export type PingFrame = z.infer<typeof PingFrame>;

/** A reply frame that settles a request. */
export const ReplyFrame = z.discriminatedUnion("type", [AnswerFrame, HookAckFrame, SpawnAckFrame]);
export type ReplyFrame = z.infer<typeof ReplyFrame>;

/** Any client → server frame. */
export const ClientFrame = z.discriminatedUnion("type", [
  AnswerFrame,
  HookAckFrame,
  SpawnAckFrame,
  PingFrame,
]);
export type ClientFrame = z.infer<typeof ClientFrame>;
/** A client frame as sent (before defaults apply). */
export type ClientFrameInput = z.input<typeof ClientFrame>;

/** The request kinds and their req_id infixes. */
export const REQUEST_KINDS = {
  ask: "ask",
  hook_before: "hb",
  hook_after: "ha",
  spawn: "spawn",
} as const;
/** A request kind as written inside a req_id. */
export type RequestKind = (typeof REQUEST_KINDS)[keyof typeof REQUEST_KINDS];

/** The reply type each request type expects. */
export const REPLY_FOR = { ask: "answer", hook_before: "hook_ack", spawn: "spawn_ack" } as const;

/** The largest text frame a client may send (1 MiB). */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** WebSocket close codes used by the server. */
export const CLOSE = {
  goingAway: 1001,
  unsupportedData: 1003,
  /** Over the frame rate limit (`frame rate limit`), not reading (`slow consumer`), or its seat's replaced sockets not reading (`earlier sockets not reading`). */
  policyViolation: 1008,
  internalError: 1011,
  tooBig: 1009,
  replaced: 4000,
  sessionDeleted: 4001,
} as const;
