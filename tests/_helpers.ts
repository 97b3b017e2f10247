/**
 * Test helpers: a real server on port 0, real WebSocket clients, raw HTTP.
 *
 * @module
 */
import { createApp } from "../app.ts";
import { stopReleases } from "../session/seats.ts";
import { type AppDeps, createDeps, type CreateDepsOptions } from "../deps.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import type { MintedOperator } from "../protocol/operators.ts";
import type { CtxView } from "../engine/faces.ts";

/** A running test server. */
export interface TestServer extends AsyncDisposable {
  deps: AppDeps;
  port: number;
  base: string;
  wsBase: string;
  /** Mints a seat over HTTP. */
  mint(roles?: string[]): Promise<MintedOperator>;
  close(): Promise<void>;
}

/** Starts a real server (port 0) on an app built from `deps` (or fresh deps). */
export async function startServer(
  options: CreateDepsOptions & { deps?: AppDeps } = {},
): Promise<TestServer> {
  const deps = options.deps ?? await createDeps(options);
  const app = createApp(deps);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const port = server.addr.port;
  const base = `http://127.0.0.1:${port}`;
  if (!options.deps && options.config?.publicUrl === undefined) {
    // As main.ts does: the public URL defaults to where the server listens.
    deps.config.publicUrl = base;
    deps.sessionEnv.publicUrl = base;
  }
  const close = async () => {
    await deps.engine.stopAll();
    stopReleases(deps); // no release_on_close timer outlives the test
    for (const s of deps.sessions.values()) s.closeSocket(1001, "test over");
    await server.shutdown();
  };
  return {
    deps,
    port,
    base,
    wsBase: `ws://127.0.0.1:${port}`,
    async mint(roles = []) {
      const res = await fetch(`${base}/v1/operators`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ roles }),
      });
      if (res.status !== 200) throw new Error(`mint failed: ${res.status} ${await res.text()}`);
      return await res.json();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** How a client authenticates its socket. */
export interface OpenSocketOptions {
  token?: string;
  /** Use the `bearer` + token subprotocols instead of the header. */
  viaProtocol?: boolean;
  signal?: AbortSignal;
}

/** A WebSocket client that queues incoming frames. */
export interface TestSocket extends AsyncDisposable {
  ws: WebSocket;
  /** Resolves with the next frame (optionally of one `type`), skipping none. */
  next(options?: { signal?: AbortSignal }): Promise<ServerFrame>;
  /** Sends a JSON value (or raw text / bytes). */
  send(frame: unknown): void;
  sendRaw(data: string | Uint8Array): void;
  /** Resolves when the socket has closed, with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
  /** Frames received and not yet taken. */
  buffered(): ServerFrame[];
}

/** Opens an operator socket and waits until it is open. */
export async function openSocket(
  url: string,
  options: OpenSocketOptions = {},
): Promise<TestSocket> {
  const signal = options.signal ?? AbortSignal.timeout(5_000);
  const init = options.viaProtocol
    ? ["bearer", options.token ?? ""]
    : { headers: options.token ? { authorization: `Bearer ${options.token}` } : {} };
  // Deno's WebSocket takes an options object with headers (not in the DOM typing).
  const ws = new WebSocket(url, init as string[]);
  const queue: ServerFrame[] = [];
  const waiters: Array<(f: ServerFrame) => void> = [];
  const closed = Promise.withResolvers<{ code: number; reason: string }>();
  ws.onmessage = (e) => {
    const frame = JSON.parse(e.data) as ServerFrame;
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else queue.push(frame);
  };
  ws.onclose = (e) => closed.resolve({ code: e.code, reason: e.reason });
  ws.onerror = () => {};
  const opened = Promise.withResolvers<void>();
  ws.onopen = () => opened.resolve();
  closed.promise.then(() => opened.reject(new Error("socket closed before open")));
  await abortable(opened.promise, signal);
  const close = async () => {
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
    await closed.promise;
  };
  return {
    ws,
    next({ signal: s } = {}) {
      const frame = queue.shift();
      if (frame) return Promise.resolve(frame);
      const { promise, resolve } = Promise.withResolvers<ServerFrame>();
      waiters.push(resolve);
      return abortable(promise, s ?? AbortSignal.timeout(5_000));
    },
    send(frame) {
      ws.send(JSON.stringify(frame));
    },
    sendRaw(data) {
      ws.send(data);
    },
    closed: closed.promise,
    close,
    buffered: () => [...queue],
    [Symbol.asyncDispose]: close,
  };
}

/** Rejects with the signal's reason when it aborts first. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  const { promise: aborted, reject } = Promise.withResolvers<never>();
  const onAbort = () => reject(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  return Promise.race([promise, aborted]).finally(() =>
    signal.removeEventListener("abort", onAbort)
  );
}

/** Sends raw HTTP/1.1 text and returns the status and body of the answer. */
export async function rawHttp(
  port: number,
  request: string,
): Promise<{ status: number; head: string; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(request));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
      const text = new TextDecoder().decode(concat(chunks));
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const head = text.slice(0, end);
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? "0");
        if (text.length - end - 4 >= length) {
          return {
            status: Number(head.split(" ")[1]),
            head,
            body: text.slice(end + 4, end + 4 + length),
          };
        }
      }
    }
    throw new Error("connection closed before a full answer");
  } finally {
    conn.close();
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A WebSocket upgrade request as raw text. */
export function upgradeRequest(path: string, headers: Record<string, string> = {}): string {
  const all: Record<string, string> = {
    Host: "127.0.0.1",
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    ...headers,
  };
  const lines = Object.entries(all).filter(([, v]) => v !== "").map(([k, v]) => `${k}: ${v}`);
  return `GET ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

/** Waits until `check()` is true, polling each macrotask (for state behind a socket). */
export async function until(check: () => boolean, signal = AbortSignal.timeout(5_000)) {
  while (!check()) {
    signal.throwIfAborted();
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The engine's view of an attempt, for calling a seat's faces directly. */
export function ctxView(taskId = "T-0000000000000001", overrides: Partial<CtxView> = {}): CtxView {
  return {
    runId: "run-test",
    taskId,
    attempt: 1,
    agent: "impl",
    runtime: { worker_handle: "wh-0123abcd" },
    operator: { kind: "main_ai", id: "http-run" },
    ...overrides,
  };
}

/** The events of an SSE text (a replayed `/v1/runs/:id/events` stream), in order. */
export function sseEvents(text: string): Array<{ type: string; data: Record<string, unknown> }> {
  const out: Array<{ type: string; data: Record<string, unknown> }> = [];
  for (const block of text.split("\n\n")) {
    const line = block.split("\n").find((l) => l.startsWith("data:"));
    if (!line) continue;
    const event = JSON.parse(line.slice(5));
    out.push({ type: event.type, data: event.data });
  }
  return out;
}
