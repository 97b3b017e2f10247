/**
 * The worker helper: what a sub-agent does with the credentials of a `spawn`
 * frame (reference/http.md §5). Web APIs only.
 *
 * @module
 */
import { SwitchboardError } from "../protocol/errors.ts";
import type { SpawnFrame } from "../protocol/frames.ts";
import type { Json } from "../protocol/json.ts";
import {
  WorkerAskAccepted,
  WorkerAskAnswer,
  WorkerAskState,
  WorkerPayload,
} from "../protocol/worker.ts";
import { httpError, joinUrl } from "./http.ts";

/** Where the worker routes are and which credential to use. */
export interface WorkerOptions {
  /** Base URL of the server. */
  url: string;
  /** The task of the spawn. */
  taskId: string;
  /** The spawn's capability token, or its `wh-` worker handle. */
  token: string;
  signal?: AbortSignal;
}

/** Result options: `ok: false` makes the step blocked; `attempt` pins the attempt. */
export interface WorkerResultOptions {
  ok?: boolean;
  attempt?: number;
}

/** Raw output for `/v1/worker/submit`, and its verdict (default ok). */
export interface WorkerSubmit {
  text: string;
  ok?: boolean;
}

/** Options of {@link WorkerClient.ask}. */
export interface WorkerAskOptions {
  /** A JSON Schema the answer must validate against (the operator gets it). */
  schema?: Record<string, Json>;
  /** How long each call waits on the server before polling again (default 30 s). */
  waitSecs?: number;
}

/** A worker bound to one task. Methods throw `SwitchboardError` with the server's text. */
export interface WorkerClient {
  readonly taskId: string;
  /** `GET /v1/worker/prompt`: the current attempt's prompt (and system text if any). */
  prompt(): Promise<WorkerPayload>;
  /** `POST /v1/worker/result`: a JSON value as the attempt's final. Capability token only. */
  result(value: Json, options?: WorkerResultOptions): Promise<void>;
  /** `POST /v1/worker/submit`: raw text as the attempt's final (trailing whitespace is trimmed). */
  submit(output: WorkerSubmit | string): Promise<void>;
  /**
   * `POST /v1/worker/ask`: asks the operator that received this task's spawn (a
   * nested ask) and resolves with the answer, polling `GET /v1/worker/ask/:req_id`
   * until it comes. Rejects (410) when the ask is cancelled, e.g. with its spawn.
   */
  ask(question: Json, options?: WorkerAskOptions): Promise<Json>;
}

/** True for the short `wh-` worker handle form. */
export function isWorkerHandle(token: string): boolean {
  return token.startsWith("wh-");
}

/** Creates a worker helper for one task. */
export function worker(options: WorkerOptions): WorkerClient {
  const { url, taskId, token, signal } = options;
  const call = async (
    path: string,
    init: RequestInit = {},
  ): Promise<Response> => {
    const res = await fetch(joinUrl(url, path), {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...init.headers },
      signal,
    });
    if (!res.ok) throw await httpError(res);
    return res;
  };
  return {
    taskId,
    async ask(question, { schema, waitSecs = 30 } = {}) {
      const body: Record<string, Json> = { question, wait_secs: waitSecs };
      if (schema) body.schema = schema;
      const res = await call("/v1/worker/ask", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status === 200) return WorkerAskAnswer.parse(await res.json()).value;
      const { req_id } = WorkerAskAccepted.parse(await res.json());
      while (true) {
        signal?.throwIfAborted();
        const polled = await call(
          `/v1/worker/ask/${encodeURIComponent(req_id)}?wait_secs=${waitSecs}`,
        );
        const state = WorkerAskState.parse(await polled.json());
        if (state.state === "settled") return state.value ?? null;
        if (state.state === "cancelled") {
          throw new SwitchboardError("gone", `ask cancelled: ${state.reason ?? "unknown"}`);
        }
      }
    },
    async prompt() {
      const res = await call(
        `/v1/worker/prompt?task_id=${encodeURIComponent(taskId)}`,
      );
      return WorkerPayload.parse(await res.json());
    },
    async result(value, { ok = true, attempt } = {}) {
      if (isWorkerHandle(token)) {
        throw new SwitchboardError(
          "unauthorized",
          "result() needs the capability token; with a worker handle use submit()",
        );
      }
      const body: Record<string, Json> = { task_id: taskId, value, ok };
      if (attempt !== undefined) body.attempt = attempt;
      const res = await call("/v1/worker/result", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      await res.body?.cancel();
    },
    async submit(output) {
      const { text, ok = true } = typeof output === "string" ? { text: output } : output;
      const res = await call(`/v1/worker/submit${ok ? "" : "?ok=false"}`, {
        method: "POST",
        headers: { "content-type": "text/plain; charset=utf-8" },
        body: text,
      });
      await res.body?.cancel();
    },
  };
}

/**
 * A worker for the task of a `spawn` frame. It uses the capability token, which
 * every worker route accepts; pass `useHandle` to use the `wh-` handle instead.
 */
export function workerFromSpawn(
  frame: SpawnFrame,
  options: { url: string; useHandle?: boolean; signal?: AbortSignal },
): WorkerClient {
  const token = options.useHandle && frame.worker_handle
    ? frame.worker_handle
    : frame.capability_token;
  return worker({
    url: options.url,
    taskId: frame.task_id,
    token,
    signal: options.signal,
  });
}
