/**
 * The stable machine-readable `code` of every error body (SPEC §10), beside the
 * 0.1.2 `error` text. The text stays what the reference says; the code is what a
 * program matches on. `app.onError` renders it through {@link errorCodeOf}.
 *
 * A code names the condition, not the status: an unknown Blueprint is
 * `blueprint_not_found` both as the 404 of `GET /v1/blueprints/:id` and as the
 * 400 of `POST /v1/tasks` (0.1.2's status there). Conditions with no entry fall
 * back to the generic code of their status (`bad_request`, `not_found`, …).
 *
 * @module
 */
import type { ErrorCode } from "./errors.ts";

/**
 * Every specific code, what it means, and the 0.1.2 text (a pattern of it)
 * that identifies it. The first matching row wins, so the order matters.
 */
export const ERROR_CODE_RULES = [
  // Credentials
  [
    "missing_credentials",
    "No credentials, or an empty bearer.",
    /^missing (or empty Bearer token|Authorization header|token)/,
  ],
  [
    "bad_auth_scheme",
    "`Authorization` is not `Bearer <token>`.",
    /^Authorization must be 'Bearer|invalid Authorization header encoding/,
  ],
  [
    "empty_token",
    "`Authorization: Bearer` with nothing after it.",
    /^(Bearer( sid| token)? is empty|token is empty)$/,
  ],
  ["api_token_invalid", "Not the server's `SWITCHBOARD_API_TOKEN`.", /^invalid API token$/],
  ["token_mismatch", "Not this seat's token.", /^token mismatch$/],
  [
    "token_expired",
    "The capability token or worker handle is past its expiry.",
    /(token|worker handle) expired$/,
  ],
  [
    "token_invalid",
    "The capability token's signature does not verify, or it cannot be decoded.",
    /token signature invalid$|^token: |^invalid token/,
  ],
  [
    "token_unknown",
    "No live record of this token or worker handle.",
    /token not found in store/,
  ],
  [
    "token_exhausted",
    "The token or worker handle has no uses left.",
    /(token|worker handle) uses exhausted$/,
  ],
  ["token_role", "The token's role may not use this verb.", /role violation: /],
  [
    "token_task_mismatch",
    "The token or handle is bound to another task.",
    /token task mismatch|is bound to task|worker handle is not bound to /,
  ],
  [
    "token_ended",
    "The run or task of this token or handle has ended.",
    /of this (token|worker handle) has ended$/,
  ],
  [
    "host_not_allowed",
    "No API token is set and the Host is not one this server answers to.",
    /^host not allowed: /,
  ],
  // Seats and sessions
  ["roles_conflict", "A role asked for is already held by another seat.", /^roles conflict$/],
  ["seat_not_found", "No seat with this sid.", /^unknown sid$|no such registered operator session/],
  ["unknown_role", "No seat holds this role.", /^unknown role: /],
  ["session_not_found", "No attached session with this id.", /^session: /],
  // Blueprints
  [
    "blueprint_not_found",
    "No Blueprint with this id.",
    /head ref empty: id=|blueprint id not found: /,
  ],
  [
    "blueprint_version_not_found",
    "The Blueprint has no such version.",
    /blueprint not found: id=.* version=|no version matches semver req/,
  ],
  ["blueprint_archived", "The Blueprint is archived.", /blueprint is archived|is archived; POST/],
  [
    "blueprint_id_mismatch",
    "The path id differs from the document's id.",
    /^path id=.* != body\.id=/,
  ],
  ["blueprint_id_invalid", "Not a valid Blueprint id.", /(^|: )invalid blueprint id$/],
  ["blueprint_busy", "Another write to this Blueprint is in progress; retry.", /lock busy; retry$/],
  [
    "version_invalid",
    "Not a valid version or semver requirement.",
    /invalid semver|invalid version: |^version: /,
  ],
  [
    "blueprint_compile_failed",
    "The Blueprint does not compile against this server (unknown fn_id, operator, …).",
    /^run: launch: compile: /,
  ],
  [
    "invalid_blueprint",
    "The Blueprint document is invalid (see `issues`).",
    /^(run: )?blueprint (parse|invalid): /,
  ],
  // Runs, tasks and replies
  ["ttl_expired", "The run's deadline passed.", /^ttl expired/],
  ["run_cancelled", "The run was cancelled.", /^run cancelled/],
  ["flow_failed", "The flow failed while running.", /^run: launch: flow eval: /],
  ["run_failed", "The run failed.", /^run: /],
  ["run_not_found", "No run with this id.", /^run not found: /],
  ["run_ended", "The run has already ended.", /^run has ended$/],
  ["task_not_found", "No task with this id.", /task not found: /],
  ["task_ended", "The task has already ended.", /task \S+ has ended$/],
  [
    "attempt_stale",
    "Not the current attempt of the task.",
    /is not the current attempt|has no attempt/,
  ],
  ["already_completed", "A final result was already posted.", /a final was already posted/],
  [
    "request_settled",
    "The operator request is unknown or already settled.",
    /unknown or already settled req_id/,
  ],
  ["ttl_too_large", "`ttl_secs` is over the maximum.", /^ttl_secs must be at most/],
  ["output_not_found", "No data-path output with this id or name.", /^output not found/],
  ["ticket_expired", "The SSE ticket is older than 60 s; mint another.", /^ticket expired$/],
  // The operator's desk
  [
    "gate_unresolved",
    "`spawn_hook_id` or `senior_bridge_id` names no seat (neither a sid nor a held role).",
    /^(spawn_hook_id|senior_bridge_id): no operator seat holds/,
  ],
  ["run_seats_refused", "`seats` needs `POST /v1/runs`, which returns their tokens.", /^seats: /],
  [
    "no_pending_spawn",
    "A nested ask needs its task's spawn to be pending at an operator.",
    /no operator holds a pending spawn of/,
  ],
  [
    "ask_cancelled",
    "The nested ask was cancelled (its spawn ended, or it timed out).",
    /^ask cancelled: /,
  ],
  ["ask_not_found", "No nested ask with this req_id for this task.", /^no nested ask /],
  [
    "answer_schema_invalid",
    "The answer's JSON Schema does not compile.",
    /^schema: (invalid JSON Schema|schema larger than)/,
  ],
  [
    "answer_mismatch",
    "The answer does not validate against its ask's schema (see `issues`).",
    /^answer does not match the ask's schema/,
  ],
  ["ticket_invalid", "The SSE ticket is unknown, expired or for another run.", /^ticket /],
  // Requests
  ["malformed_json", "The body is not JSON.", /^Failed to parse the request body as JSON/],
  [
    "invalid_body",
    "The JSON body has the wrong shape (see `issues`).",
    /^Failed to deserialize the JSON body/,
  ],
  [
    "invalid_query",
    "The query string is wrong (see `issues`).",
    /^Failed to deserialize query string/,
  ],
  ["not_websocket", "Not a WebSocket upgrade request.", /header did not include|header missing$/],
  ["bad_last_event_id", "`Last-Event-ID` is not a non-negative integer.", /^Last-Event-ID /],
  ["route_not_found", "No route for this path.", /^no route for /],
  ["file_not_found", "No such static file.", /^no (such console file|docs asset)/],
  ["body_too_large", "The body is over 2 MiB.", /^request body larger than/],
] as const satisfies ReadonlyArray<readonly [string, string, RegExp]>;

/** A specific error code. */
export type SpecificErrorCode = (typeof ERROR_CODE_RULES)[number][0];

/** Any value of an error body's `code`: a specific code or the generic code of a status. */
export type ErrorBodyCode = SpecificErrorCode | ErrorCode;

/** The `code` of an error with `code` (its status class) and `message` (its 0.1.2 text). */
export function errorCodeOf(err: { code: ErrorCode; message: string }): ErrorBodyCode {
  if (err.code === "internal") return "internal";
  for (const [code, , pattern] of ERROR_CODE_RULES) {
    if (pattern.test(err.message)) return code;
  }
  return err.code;
}
