/**
 * HTTP webhook workers (reference/engine.md §5.5): a `rust_fn` id bound by
 * server configuration to a URL. `sync` takes the result from the response;
 * `callback` waits for the worker to post a final over HTTP.
 *
 * Calls never follow redirects (a 3xx fails the step: a redirect would re-send the
 * capability token and the configured headers elsewhere), read at most
 * `max_response_bytes` of a reply, and refuse private and link-local targets
 * unless `allow_private` (loopback is always allowed).
 *
 * @module
 */
import { z } from "zod";
import { Json, jsonTextTooDeep, MAX_JSON_DEPTH } from "../../protocol/json.ts";
import {
  grantOf,
  inlineFinal,
  messageOf,
  spawned,
  type Spawner,
  SpawnError,
  WorkerError,
} from "../spawner.ts";
import { readCapped, refuseTarget, WEBHOOK_MAX_BYTES } from "./_webhook_guard.ts";

/** A webhook worker's configuration. */
export const WebhookConfig = z.object({
  url: z.url({ protocol: /^https?$/ }),
  mode: z.enum(["sync", "callback"]).default("sync"),
  timeout_ms: z.int().min(1).max(86_400_000).default(30_000),
  headers: z.record(z.string(), z.string()).default({}),
  /** The largest reply body read (`SWITCHBOARD_WEBHOOK_MAX_BYTES`, 2 MiB). */
  max_response_bytes: z.int().min(1).max(1024 ** 3).optional(),
  /** Allows private and link-local targets (`SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE=1`). */
  allow_private: z.boolean().optional(),
});
export type WebhookConfig = z.infer<typeof WebhookConfig>;

/** `SWITCHBOARD_WEBHOOKS`: fn_id → webhook config. */
export const WebhookTable = z.record(z.string().min(1), WebhookConfig);

const SyncReply = z.object({ value: Json, ok: z.boolean().default(true) });

/** Server-wide defaults of {@link parseWebhooks}. */
export interface WebhookDefaults {
  maxResponseBytes?: number;
  allowPrivate?: boolean;
}

/**
 * Parses the `SWITCHBOARD_WEBHOOKS` JSON; `defaults` fill `max_response_bytes` and
 * `allow_private` where an entry leaves them out. Throws with a clear message.
 */
export function parseWebhooks(
  json: string | undefined,
  defaults: WebhookDefaults = {},
): Map<string, WebhookConfig> {
  if (!json) return new Map();
  const parsed = WebhookTable.safeParse(JSON.parse(json));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`SWITCHBOARD_WEBHOOKS: ${issue.path.join(".")}: ${issue.message}`);
  }
  return new Map(
    Object.entries(parsed.data).map(([id, c]) => [id, {
      ...c,
      max_response_bytes: c.max_response_bytes ?? defaults.maxResponseBytes ?? WEBHOOK_MAX_BYTES,
      allow_private: c.allow_private ?? defaults.allowPrivate ?? false,
    }]),
  );
}

const isRedirect = (status: number) => status >= 300 && status < 400;

/** A spawner that calls a webhook. `baseUrl` is the public URL for the endpoints. */
export function webhookWorker(config: WebhookConfig, baseUrl: string): Spawner {
  return async function callWebhook(a) {
    const base = baseUrl.replace(/\/+$/, "");
    const grant = grantOf(a);
    const body = {
      task_id: a.ctx.taskId,
      attempt: a.ctx.attempt,
      agent: a.ctx.agent,
      prompt: a.attempt.prompt,
      system: a.attempt.system ?? null,
      worker_handle: grant.workerHandle,
      capability_token: grant.capabilityToken,
      endpoints: {
        prompt: `${base}/v1/worker/prompt?task_id=${encodeURIComponent(a.ctx.taskId)}`,
        submit: `${base}/v1/worker/submit`,
        result: `${base}/v1/worker/result`,
        data_emit: `${base}/v1/data/emit`,
      },
    };
    const refused = await refuseTarget(config.url, config.allow_private ?? false);
    if (refused !== undefined) throw new SpawnError(`webhook ${refused}`);
    const timeout = AbortSignal.timeout(config.timeout_ms);
    const signal = AbortSignal.any([a.signal, timeout]);
    const post = fetch(config.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...config.headers },
      body: JSON.stringify(body),
      redirect: "manual",
      signal,
    });
    const maxBytes = config.max_response_bytes ?? WEBHOOK_MAX_BYTES;
    const failed = (what: string, cause?: unknown): never => {
      if (a.signal.aborted) throw a.signal.reason;
      if (timeout.aborted) {
        throw new WorkerError(
          `worker fn returned error: webhook timed out after ${config.timeout_ms} ms`,
        );
      }
      throw new WorkerError(`worker fn returned error: webhook ${what}`, { cause });
    };

    if (config.mode === "sync") {
      const done = (async () => {
        let res: Response;
        try {
          res = await post;
        } catch (err) {
          return failed(`request failed: ${messageOf(err)}`, err);
        }
        if (isRedirect(res.status)) {
          await res.body?.cancel();
          return failed(`answered a redirect (${res.status}); redirects are not followed`);
        }
        let text: string;
        try {
          text = await readCapped(res, maxBytes);
        } catch (err) {
          return failed(`body read failed: ${messageOf(err)}`, err);
        }
        if (!res.ok) return failed(`answered ${res.status}`);
        // the reply's `value` may nest MAX_JSON_DEPTH levels below the reply object
        if (jsonTextTooDeep(text, MAX_JSON_DEPTH + 1)) {
          return failed(`answered JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
        }
        let raw: unknown;
        try {
          raw = JSON.parse(text);
        } catch {
          return failed("answered a body that is not JSON");
        }
        const parsed = SyncReply.safeParse(raw);
        if (!parsed.success) return failed("answered a body without a JSON `value`");
        const reply = parsed.data;
        a.append(inlineFinal(reply.value, reply.ok));
      })();
      return spawned(done);
    }

    // callback: a 2xx means "I will post back"; the final must arrive in time.
    let res: Response;
    try {
      res = await post;
      await res.body?.cancel();
    } catch (err) {
      if (a.signal.aborted) throw a.signal.reason;
      throw new SpawnError(`webhook request failed: ${messageOf(err)}`, { cause: err });
    }
    if (isRedirect(res.status)) {
      throw new SpawnError(
        `webhook answered a redirect (${res.status}); redirects are not followed`,
      );
    }
    if (!res.ok) throw new SpawnError(`webhook answered ${res.status}`);
    const done = new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        try {
          failed("callback never posted a final");
        } catch (err) {
          reject(err);
        }
      };
      signal.addEventListener("abort", onAbort, { once: true });
      a.finalArrived().then(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
    });
    return spawned(done);
  };
}
