/**
 * REST bodies of the operator routes (SPEC §3).
 *
 * @module
 */
import { z } from "./zod.ts";
import { Json } from "./json.ts";
import { CancelReason, RequestContext, RequestFrame } from "./frames.ts";
import { ERROR_CODE_RULES } from "./error_codes.ts";
import { ERROR_STATUS, type ErrorCode } from "./errors.ts";
import { Issue } from "./issues.ts";

const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[]; // keys of a const table

/**
 * Where a seat's roles count: one run, or every run of one Blueprint. A scoped
 * seat's roles are exclusive only within its scope, and a request for a role
 * from run X goes to a seat scoped to X, then to X's Blueprint, then unscoped.
 */
export const SeatScope = z.union([
  z.strictObject({ run_id: z.string().min(1) }),
  z.strictObject({ blueprint_id: z.string().min(1) }),
]);
export type SeatScope = z.infer<typeof SeatScope>;

/** The longest `grace_secs` of a `release_on_close` seat (one day). */
export const MAX_GRACE_SECS = 86_400;

/**
 * `POST /v1/operators` body. `roles` may be omitted but not null. With
 * `release_on_close`, the seat and its roles are freed when its socket closes and
 * no new one comes within `grace_secs` (default 30), if it has nothing pending.
 */
export const MintOperatorBody = z.object({
  roles: z.array(z.string()).optional(),
  scope: SeatScope.optional(),
  release_on_close: z.boolean().optional(),
  grace_secs: z.int().min(0).max(MAX_GRACE_SECS).optional(),
});
export type MintOperatorBody = z.infer<typeof MintOperatorBody>;

/** `POST /v1/operators` answer. */
export const MintedOperator = z.object({
  sid: z.string(),
  token: z.string(),
  roles: z.array(z.string()),
  scope: SeatScope.optional(),
});
export type MintedOperator = z.infer<typeof MintedOperator>;

/** `GET /v1/operators/:sid` answer. */
export const OperatorInfo = z.object({
  sid: z.string(),
  roles: z.array(z.string()),
  connected: z.boolean(),
  pending: z.int().min(0),
  scope: SeatScope.optional(),
  release_on_close: z.boolean().optional(),
});
export type OperatorInfo = z.infer<typeof OperatorInfo>;

/** One row of `GET /v1/operators`. */
export const OperatorListItem = OperatorInfo.extend({
  created_at: z.string(),
  last_seen_at: z.string(),
});
export type OperatorListItem = z.infer<typeof OperatorListItem>;

/** `GET /v1/operators` answer, sorted by sid. */
export const OperatorList = z.object({
  operators: z.array(OperatorListItem),
  /** Pass as `after` for the next page; absent on the last page. */
  next_after: z.string().optional(),
});

/** `GET /v1/operators` query: only seats whose sid sorts after `after`. */
export const OperatorListQuery = z.object({ after: z.string().min(1).optional() });

export type OperatorList = z.infer<typeof OperatorList>;

/** `GET /v1/operators/:sid/pending` answer: the frames as sent, in order. */
export const PendingList = z.object({
  pending: z.array(RequestFrame),
  /** Pass as `after` for the next page (pages end at 16 Mi characters); absent on the last. */
  next_after: z.string().optional(),
});
export type PendingList = z.infer<typeof PendingList>;

/** The request kinds as frame types (`GET /v1/inbox?kind=`). */
export const InboxKind = z.enum(["ask", "hook_before", "spawn"]);
export type InboxKind = z.infer<typeof InboxKind>;

/** `GET /v1/inbox` query. */
export const InboxQuery = z.object({
  role: z.string().min(1).optional(),
  run_id: z.string().min(1).optional(),
  kind: InboxKind.optional(),
  older_than_secs: z.coerce.number().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Only requests after this `req_id` (the `next_after` of the previous page). */
  after: z.string().min(1).optional(),
});
export type InboxQuery = z.infer<typeof InboxQuery>;

/** One pending request of `GET /v1/inbox`. */
export const InboxItem = z.object({
  req_id: z.string(),
  kind: InboxKind,
  sid: z.string(),
  roles: z.array(z.string()),
  /** The role the request was addressed to, when it went to a role. */
  role: z.string().optional(),
  context: RequestContext.optional(),
  sent_at: z.string(),
  age_secs: z.number().min(0),
  /** When it times out (the ask's timeout or the run's deadline), if known. */
  deadline: z.string().nullable(),
  frame: RequestFrame,
});
export type InboxItem = z.infer<typeof InboxItem>;

/** `GET /v1/inbox` answer: every pending request across seats, oldest first. */
export const Inbox = z.object({
  items: z.array(InboxItem),
  /** Pass as `after` for the next page (pages end at 16 Mi characters); absent on the last. */
  next_after: z.string().optional(),
});
export type Inbox = z.infer<typeof Inbox>;

/** Who settled a request (the audit). `client` is the socket's `?client=`, or `http`. */
export const SettledBy = z.object({
  sid: z.string(),
  roles: z.array(z.string()),
  client: z.string().nullable(),
});
export type SettledBy = z.infer<typeof SettledBy>;

/** One operator request of a run (`requests` in `GET /v1/runs/:id`). */
export const RunRequest = z.object({
  req_id: z.string(),
  kind: z.enum(["ask", "hook_before", "spawn"]),
  sid: z.string(),
  task_id: z.string(),
  attempt: z.int(),
  parent_req_id: z.string().optional(),
  context: RequestContext.optional(),
  /** An ask's question. */
  question: Json.optional(),
  /** A hook_before's or spawn's prompt (the step's input, as in `context.input`). */
  prompt: Json.optional(),
  /** The role the request was addressed to, when it went to a role. */
  role: z.string().optional(),
  state: z.enum(["pending", "settled", "cancelled"]),
  sent_at: z.string(),
  by: SettledBy.optional(),
  at: z.string().optional(),
  value: Json.optional(),
  ok: z.boolean().optional(),
  /** What an approval changed: `{input}` of an approve-with-edits. */
  edits: Json.optional(),
  reason: CancelReason.optional(),
});
export type RunRequest = z.infer<typeof RunRequest>;

/**
 * `{ error, code }` body of every non-2xx answer: the 0.1.2 text and a stable
 * machine-readable code (protocol/error_codes.ts), plus extras such as
 * `conflicts` or `issues`.
 */
export const ErrorBody = z.object({
  error: z.string().meta({ description: "Human-readable text (the 0.1.2 text where one exists)." }),
  code: z.enum([...ERROR_CODE_RULES.map(([code]) => code), ...ERROR_CODES]).meta({
    description: "Stable machine-readable code: a specific condition, or the generic code of " +
      "the status when there is no specific one.",
  }),
  issues: z.array(Issue).optional().meta({
    description: "Why the body (422) or the query (400) was refused: one entry per problem.",
  }),
}).catchall(z.unknown());
export type ErrorBody = z.infer<typeof ErrorBody>;
