/**
 * Helpers for restart tests: the server as a real child process (`deno task
 * start`'s permissions, port 0), killed for real, and restarted on the same KV file.
 *
 * @module
 */
import assert from "node:assert/strict";
import { abortable } from "../_helpers.ts";
import { startTask } from "../hostile/_task_start.ts";

/** A server running as a child process. */
export interface ChildServer extends AsyncDisposable {
  port: number;
  base: string;
  wsBase: string;
  /** Sends a signal and waits for the exit code. */
  kill(signal: Deno.Signal): Promise<Deno.CommandStatus>;
  /** Everything the child wrote to stderr so far (JSON log lines). */
  stderr(): string;
}

/** Options of {@link spawnServer}. */
export interface SpawnServerOptions {
  env?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Starts `main.ts` on `kvPath` and port 0 as `deno task start` runs it (its
 * permissions, see `startTask`), logging at `info`, and waits for its listening line.
 */
export async function spawnServer(
  kvPath: string,
  options: SpawnServerOptions = {},
): Promise<ChildServer> {
  const signal = options.signal ?? AbortSignal.timeout(30_000);
  const child = await startTask(kvPath, { LOG_LEVEL: "info", ...options.env });
  let signalled = false;
  // the first signal is sent; later calls wait for the same exit (a drain is not cut short)
  const kill = (sig: Deno.Signal) => {
    if (!signalled) {
      signalled = true;
      child.signal(sig);
    }
    return child.status;
  };
  let base: string;
  try {
    base = await abortable(child.listening, signal);
  } catch (e) {
    await kill("SIGKILL");
    throw e;
  }
  return {
    port: Number(new URL(base).port),
    base,
    wsBase: base.replace(/^http/, "ws"),
    kill,
    stderr: child.stderr,
    async [Symbol.asyncDispose]() {
      await kill("SIGKILL");
    },
  };
}

/** A temporary KV file path in a fresh folder that is removed on dispose. */
export async function tempKv(): Promise<{ path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-durable-" });
  return {
    path: `${dir}/data/switchboard.kv`,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Calls a JSON route of a child server. */
export async function call(
  server: { base: string },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const res = await fetch(`${server.base}${path}`, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** One parsed Server-Sent Event. */
export interface SseEvent {
  id: number;
  event: string;
  data: { id: number; type: string; at: string; data: Record<string, unknown> };
}

/**
 * Reads `GET /v1/runs/:id/events` (from `lastEventId` when given) until
 * `run_ended` or until `stopAfter` events, and returns the events.
 */
export async function readEvents(
  server: { base: string },
  runId: string,
  options: { lastEventId?: number; stopAfter?: number; signal?: AbortSignal } = {},
): Promise<SseEvent[]> {
  const signal = options.signal ?? AbortSignal.timeout(20_000);
  const ctl = new AbortController();
  const both = AbortSignal.any([signal, ctl.signal]);
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (options.lastEventId !== undefined) headers["last-event-id"] = String(options.lastEventId);
  const res = await fetch(`${server.base}/v1/runs/${runId}/events`, { headers, signal: both });
  assert.equal(res.status, 200);
  const events: SseEvent[] = [];
  let buf = "";
  try {
    for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let end: number;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const fields = new Map<string, string>();
        for (const line of block.split("\n")) {
          const at = line.indexOf(":");
          if (at <= 0) continue;
          fields.set(line.slice(0, at), line.slice(at + 1).replace(/^ /, ""));
        }
        if (!fields.has("data")) continue;
        const event: SseEvent = {
          id: Number(fields.get("id")),
          event: fields.get("event") ?? "message",
          data: JSON.parse(fields.get("data")!),
        };
        events.push(event);
        if (event.event === "run_ended" || events.length === options.stopAfter) {
          ctl.abort();
          return events;
        }
      }
    }
  } catch (err) {
    if (!ctl.signal.aborted) throw err;
  }
  return events;
}

/** Polls until `check` resolves true. */
export async function eventually(
  check: () => Promise<boolean>,
  signal = AbortSignal.timeout(10_000),
): Promise<void> {
  while (!(await check())) {
    signal.throwIfAborted();
    await new Promise((r) => setTimeout(r, 20));
  }
}
