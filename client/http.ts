/**
 * Typed REST helpers for the admin and operator routes (SPEC §3, §5). Web APIs
 * only (`fetch`, streams), so they run in Deno and in browsers.
 *
 * @module
 */
import { ERROR_STATUS, type ErrorCode, SwitchboardError } from "../protocol/errors.ts";
import type { Json } from "../protocol/json.ts";
import type { RequestFrame } from "../protocol/frames.ts";
import {
  Inbox,
  type InboxQuery,
  MintedOperator,
  type MintOperatorBody,
  OperatorInfo,
  PendingList,
} from "../protocol/operators.ts";
import { RunAccepted, RunEventData, RunInfo, TaskBody, TaskResult } from "../protocol/tasks.ts";
import type { z } from "../protocol/zod.ts";

/** Where the server is and how to authenticate admin routes. */
export interface HttpOptions {
  /** Base URL of the server, for example `http://127.0.0.1:7777`. */
  url: string;
  /** `SWITCHBOARD_API_TOKEN`, when the server sets one. */
  apiToken?: string;
  signal?: AbortSignal;
}

export type { RunAccepted, RunInfo };
/** One event of `GET /v1/runs/:id/events`. */
export type RunEvent = z.infer<typeof RunEventData>;
/**
 * A `POST /v1/tasks` / `POST /v1/runs` body as sent (the Blueprint ref, init_ctx, …).
 * The output type, not `z.input`: the recursive flow and expression schemas type
 * only their output, so `z.input` would leave `flow` as `unknown`.
 */
export type RunBody = z.infer<typeof TaskBody>;

const CODE_BY_STATUS = new Map<number, ErrorCode>(
  (Object.entries(ERROR_STATUS) as [ErrorCode, number][]).map((
    [code, status],
  ) => [status, code]),
);

/** Joins a base URL and a path. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}${path}`;
}

/** Turns a non-2xx answer into a `SwitchboardError` carrying the server's `{error}` text. */
export async function httpError(res: Response): Promise<SwitchboardError> {
  const text = await res.text();
  let message = text || res.statusText;
  let extra: Record<string, unknown> = { status: res.status };
  try {
    const body = JSON.parse(text);
    if (body && typeof body.error === "string") {
      message = body.error;
      extra = { ...body, status: res.status };
    }
  } catch {
    // not JSON: keep the text
  }
  const code = CODE_BY_STATUS.get(res.status) ??
    (res.status >= 500 ? "internal" : "bad_request");
  return new SwitchboardError(code, message, { extra });
}

/** Sends one request and parses the JSON answer with `schema`. Throws `SwitchboardError` on non-2xx. */
export async function requestJson<T>(
  options: HttpOptions & { bearer?: string },
  method: string,
  path: string,
  schema: z.ZodType<T> | null,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = {};
  const bearer = options.bearer ?? options.apiToken;
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(joinUrl(options.url, path), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: options.signal,
  });
  if (!res.ok) throw await httpError(res);
  if (schema === null) {
    await res.body?.cancel();
    return undefined as T; // callers passing null declare T = void
  }
  return schema.parse(await res.json());
}

/** What {@link mintSeat} sends besides the roles. */
export type MintSeatOptions = Omit<MintOperatorBody, "roles">;

/**
 * `POST /v1/operators`: mints a seat `{sid, token, roles}`. 409 when a role is held.
 * `release_on_close: true` frees the seat when its socket closes (after
 * `grace_secs`), so a script can mint again and again; `scope` limits its roles
 * to one run or one Blueprint.
 */
export function mintSeat(
  options: HttpOptions & { roles?: string[] } & MintSeatOptions,
): Promise<MintedOperator> {
  const body: MintOperatorBody = { roles: options.roles ?? [] };
  if (options.scope) body.scope = options.scope;
  if (options.release_on_close !== undefined) body.release_on_close = options.release_on_close;
  if (options.grace_secs !== undefined) body.grace_secs = options.grace_secs;
  return requestJson(options, "POST", "/v1/operators", MintedOperator, body);
}

/** `GET /v1/inbox` (admin): every pending request across seats, oldest first. */
export function inbox(
  options: HttpOptions & { query?: Partial<Record<keyof InboxQuery, string | number>> },
): Promise<Inbox> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(options.query ?? {})) params.set(k, String(v));
  const qs = params.size > 0 ? `?${params}` : "";
  return requestJson(options, "GET", `/v1/inbox${qs}`, Inbox);
}

/** `GET /v1/operators/:sid` with the seat token. */
export function seatInfo(
  options: HttpOptions & { sid: string; token: string },
): Promise<OperatorInfo> {
  const { sid, token } = options;
  return requestJson(
    { ...options, bearer: token },
    "GET",
    `/v1/operators/${sid}`,
    OperatorInfo,
  );
}

/** `GET /v1/operators/:sid/pending` with the seat token: the frames as sent, in order. */
export async function seatPending(
  options: HttpOptions & { sid: string; token: string },
): Promise<RequestFrame[]> {
  const path = `/v1/operators/${options.sid}/pending`;
  return (await requestJson(
    { ...options, bearer: options.token },
    "GET",
    path,
    PendingList,
  ))
    .pending;
}

/** `DELETE /v1/operators/:sid`: tears the seat down (its socket closes with 4001). */
export function deleteSeat(
  options: HttpOptions & { sid: string; token: string },
): Promise<void> {
  const path = `/v1/operators/${options.sid}`;
  return requestJson<void>(
    { ...options, bearer: options.token },
    "DELETE",
    path,
    null,
  );
}

/** `POST /v1/runs`: starts a run without waiting. */
export function startRun(
  options: HttpOptions & { body: RunBody },
): Promise<RunAccepted> {
  return requestJson(options, "POST", "/v1/runs", RunAccepted, options.body);
}

/** `POST /v1/tasks`: runs and waits (0.1.2). Failures throw with the 0.1.2 text. */
export function runTask(
  options: HttpOptions & { body: RunBody },
): Promise<z.infer<typeof TaskResult>> {
  return requestJson(options, "POST", "/v1/tasks", TaskResult, options.body);
}

/** `GET /v1/runs/:id`. */
export function getRun(
  options: HttpOptions & { runId: string },
): Promise<RunInfo> {
  return requestJson(options, "GET", `/v1/runs/${options.runId}`, RunInfo);
}

/** `DELETE /v1/runs/:id`: cancels a live run. 410 when it had already ended. */
export function cancelRun(
  options: HttpOptions & { runId: string },
): Promise<RunInfo> {
  return requestJson(options, "DELETE", `/v1/runs/${options.runId}`, RunInfo);
}

/**
 * Iterates `GET /v1/runs/:id/events` (Server-Sent Events) from the start, or after
 * `lastEventId`. Ends after `run_ended` or when `signal` aborts.
 */
export async function* runEvents(
  options: HttpOptions & { runId: string; lastEventId?: number },
): AsyncGenerator<RunEvent> {
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (options.apiToken) headers.authorization = `Bearer ${options.apiToken}`;
  if (options.lastEventId !== undefined) {
    headers["last-event-id"] = String(options.lastEventId);
  }
  const res = await fetch(
    joinUrl(options.url, `/v1/runs/${options.runId}/events`),
    {
      headers,
      signal: options.signal,
    },
  );
  if (!res.ok || !res.body) throw await httpError(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replaceAll("\r\n", "\n");
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split("\n").filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
        if (!data) continue;
        const event = RunEventData.parse(JSON.parse(data));
        yield event;
        if (event.type === "run_ended") return;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** Waits until a run has ended (following its event stream) and returns it. */
export async function waitRun(
  options: HttpOptions & { runId: string },
): Promise<RunInfo> {
  const first = await getRun(options);
  if (first.status !== "running") return first;
  for await (const _ of runEvents(options)) {
    // drain until run_ended
  }
  return await getRun(options);
}

/** A JSON value (re-exported for callers that build bodies). */
export type { Json };
