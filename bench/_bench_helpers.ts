/**
 * Shared pieces of the bench files: an operator client that answers every
 * request, a bare Deno WebSocket baseline that does the same JSON round trip with
 * nothing but a pending map, percentiles, and run helpers.
 *
 * @module
 */
import type { ServerFrame } from "../protocol/frames.ts";
import type { Json } from "../protocol/json.ts";
import { openSocket, type TestServer, type TestSocket, until } from "../tests/_helpers.ts";
import { operatorAgentBlueprint } from "../tests/engine/_loop.ts";
import { prepareRun } from "../engine/prepare_run.ts";
import type { StartedRun } from "../engine/mod.ts";
import { TaskBody } from "../protocol/tasks.ts";
import type { FrameRateLimit } from "../session/frame_bucket.ts";

/**
 * The operator socket's frame limit in benches: their clients answer back to back,
 * up to ~4,000 replies a second in process, near the default (5,000 a second).
 */
export const BENCH_FRAME_RATE: FrameRateLimit = { perSec: 1e9, burst: 1e9 };

/** A question of a realistic size (the senior-escalation shape). */
export const QUESTION: Json = {
  reason: "worker reported ok=false",
  value: { verdict: "FAIL", notes: "the tests in engine/flow did not pass", attempt: 1 },
};

/** The reply a real operator client would send for a request frame, or null. */
export function replyTo(frame: ServerFrame): Json | null {
  switch (frame.type) {
    case "ask":
      return { type: "answer", req_id: frame.req_id, value: frame.question };
    case "hook_before":
      return { type: "hook_ack", req_id: frame.req_id, ok: true };
    case "spawn":
      return { type: "spawn_ack", req_id: frame.req_id, value: { done: true }, ok: true };
    default:
      return null;
  }
}

/** Makes `ws` answer every request frame (ask, hook_before, spawn) at once. */
export function answerEverything(
  ws: WebSocket,
  filter: (frame: ServerFrame) => boolean = () => true,
): void {
  ws.onmessage = (event) => {
    const frame = JSON.parse(event.data) as ServerFrame;
    if (!filter(frame)) return;
    const reply = replyTo(frame);
    if (reply !== null) ws.send(JSON.stringify(reply));
  };
}

/** A seat minted over HTTP with a live socket, as the server sees it. */
export interface BenchSeat {
  sid: string;
  token: string;
  socket: TestSocket;
}

/** Mints a seat, connects a socket and waits until the server sees it live. */
export async function connectSeat(server: TestServer, roles: string[] = []): Promise<BenchSeat> {
  const minted = await server.mint(roles);
  const socket = await openSocket(`${server.wsBase}/v1/operators/${minted.sid}/ws`, {
    token: minted.token,
  });
  await until(() => server.deps.sessions.get(minted.sid)?.connected === true);
  return { sid: minted.sid, token: minted.token, socket };
}

/** A seat answered by an {@link openAnsweringOperator} raw client. */
export interface RawSeat {
  sid: string;
  token: string;
  client: RawClient;
}

/** Mints a seat and connects an answering raw client (every request is answered). */
export async function connectRawSeat(
  server: TestServer,
  options: { roles?: string[]; filter?: (frame: ServerFrame) => boolean } = {},
): Promise<RawSeat> {
  const minted = await server.mint(options.roles ?? []);
  const client = await openAnsweringOperator(
    `${server.wsBase}/v1/operators/${minted.sid}/ws`,
    minted.token,
    options.filter,
  );
  await until(() => server.deps.sessions.get(minted.sid)?.connected === true);
  return { sid: minted.sid, token: minted.token, client };
}

/**
 * The baseline of the operator round trip: a bare `Deno.serve` +
 * `Deno.upgradeWebSocket` server that sends the same JSON frame and resolves the
 * reply by `req_id` from a plain map. No validation, no logs, no store.
 */
export interface BareEcho extends AsyncDisposable {
  /** Sends an `ask` frame and resolves with the answer's value. */
  ask(taskId: string, question: Json): Promise<Json>;
  /** Sends any request frame (built around `reqId`) and resolves with the reply. */
  request(build: (reqId: string) => Record<string, Json>): Promise<Record<string, Json>>;
  close(): Promise<void>;
}

/** Options of {@link startBareEcho}. */
export interface BareEchoOptions {
  /** The answering client: Deno's `WebSocket` (default) or {@link openRawClient}. */
  client?: "deno" | "raw";
}

/** Starts the bare baseline with one client that answers like {@link answerEverything}. */
export async function startBareEcho(options: BareEchoOptions = {}): Promise<BareEcho> {
  const pending = new Map<string, (reply: Record<string, Json>) => void>();
  const serverSocket = Promise.withResolvers<WebSocket>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => serverSocket.resolve(socket);
    socket.onmessage = (event) => {
      const reply = JSON.parse(event.data) as Record<string, Json>;
      const id = reply.req_id;
      if (typeof id !== "string") return;
      const resolve = pending.get(id);
      pending.delete(id);
      resolve?.(reply);
    };
    return response;
  });
  const url = `ws://127.0.0.1:${server.addr.port}/`;
  let closeClient: () => Promise<void>;
  if (options.client === "raw") {
    const raw = await openAnsweringOperator(url, "bare");
    closeClient = () => raw.close();
  } else {
    const client = new WebSocket(url);
    const closed = Promise.withResolvers<void>();
    client.onclose = () => closed.resolve();
    answerEverything(client);
    closeClient = () => {
      client.close();
      return closed.promise;
    };
  }
  const socket = await serverSocket.promise;
  let counter = 0;
  // A req_id of the same length as a Switchboard one (`op-<uuid>-ask-<uuid>`).
  const prefix = `op-${crypto.randomUUID()}-ask-`;

  const request = (build: (reqId: string) => Record<string, Json>) => {
    const reqId = `${prefix}${String(counter++).padStart(36, "0")}`;
    const { promise, resolve } = Promise.withResolvers<Record<string, Json>>();
    pending.set(reqId, resolve);
    socket.send(JSON.stringify(build(reqId)));
    return promise;
  };
  const close = async () => {
    await closeClient();
    await server.shutdown();
  };
  return {
    async ask(taskId, question) {
      const reply = await request((reqId) => ({
        type: "ask",
        req_id: reqId,
        task_id: taskId,
        question,
      }));
      return reply.value ?? null;
    },
    request,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A minimal WebSocket client over `Deno.connect` with `TCP_NODELAY` set. */
export interface RawClient extends AsyncDisposable {
  /** Sends one text frame (masked, as a client must). */
  send(text: string): void;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function clientFrame(text: string): Uint8Array {
  const payload = encoder.encode(text);
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = new Uint8Array(head + 4 + n);
  out[0] = 0x81; // FIN + text
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 65536) {
    out[1] = 0x80 | 126;
    new DataView(out.buffer).setUint16(2, n);
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(n));
  }
  // An all-zero masking key: the MASK bit is set, the payload is unchanged.
  out.set(payload, head + 4);
  return out;
}

/**
 * Opens a WebSocket as a plain TCP client with `TCP_NODELAY`, calling `onText`
 * for each text frame. Deno's `WebSocket` client leaves Nagle's algorithm on, so
 * a client that answers several frames at once stalls ~40 ms on delayed ACKs
 * (see BENCHMARKS.md); this client measures the server without that stall.
 */
export async function openRawClient(
  url: string,
  headers: Record<string, string>,
  onText: (text: string, client: RawClient) => void,
): Promise<RawClient> {
  const { hostname, port, pathname } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  conn.setNoDelay(true);
  const lines = Object.entries({
    Host: `${hostname}:${port}`,
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    ...headers,
  }).map(([k, v]) => `${k}: ${v}`);
  await conn.write(encoder.encode(`GET ${pathname} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`));

  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(1 << 16);
  const fill = async (): Promise<boolean> => {
    const n = await conn.read(chunk);
    if (n === null) return false;
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
    return true;
  };
  while (true) {
    if (!(await fill())) throw new Error("connection closed during the handshake");
    const end = decoder.decode(buf).indexOf("\r\n\r\n");
    if (end < 0) continue;
    const head = decoder.decode(buf.subarray(0, end));
    if (!head.startsWith("HTTP/1.1 101")) throw new Error(`upgrade refused: ${head}`);
    buf = buf.slice(end + 4);
    break;
  }

  let writing = Promise.resolve();
  let closing = false;
  const client: RawClient = {
    send(text) {
      const frame = clientFrame(text);
      writing = writing.then(async () => {
        let off = 0;
        while (off < frame.length) off += await conn.write(frame.subarray(off));
      });
    },
    async close() {
      if (closing) return;
      closing = true;
      await writing.catch(() => {});
      try {
        await conn.write(new Uint8Array([0x88, 0x80, 0, 0, 0, 0]));
      } catch {
        // already gone
      }
      await reading;
    },
    [Symbol.asyncDispose]: () => client.close(),
  };

  const reading = (async () => {
    try {
      while (true) {
        while (buf.length >= 2) {
          const opcode = buf[0] & 0x0f;
          let len = buf[1] & 0x7f;
          let at = 2;
          if (len === 126) {
            if (buf.length < 4) break;
            len = new DataView(buf.buffer, buf.byteOffset).getUint16(2);
            at = 4;
          } else if (len === 127) {
            if (buf.length < 10) break;
            len = Number(new DataView(buf.buffer, buf.byteOffset).getBigUint64(2));
            at = 10;
          }
          if (buf.length < at + len) break;
          const payload = buf.subarray(at, at + len);
          buf = buf.slice(at + len);
          if (opcode === 0x8) return;
          if (opcode === 0x1) onText(decoder.decode(payload), client);
        }
        if (!(await fill())) return;
      }
    } catch {
      // closed under us
    } finally {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  })();
  return client;
}

/** Opens a {@link openRawClient} operator socket that answers every request frame. */
export function openAnsweringOperator(
  wsUrl: string,
  token: string,
  filter: (frame: ServerFrame) => boolean = () => true,
): Promise<RawClient> {
  return openRawClient(wsUrl, { Authorization: `Bearer ${token}` }, (text, client) => {
    const frame = JSON.parse(text) as ServerFrame;
    if (!filter(frame)) return;
    const reply = replyTo(frame);
    if (reply !== null) client.send(JSON.stringify(reply));
  });
}

/** The p-th percentile (0–100) of `samples`, nearest rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** A one-line summary of latency samples in ms: n, p50, p90, p99, max, mean. */
export function summarize(label: string, samplesMs: readonly number[]): string {
  const mean = samplesMs.reduce((a, b) => a + b, 0) / samplesMs.length;
  const fmt = (ms: number) => ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`;
  return `${label}: n=${samplesMs.length} p50=${fmt(percentile(samplesMs, 50))} ` +
    `p90=${fmt(percentile(samplesMs, 90))} p99=${fmt(percentile(samplesMs, 99))} ` +
    `max=${fmt(Math.max(...samplesMs))} mean=${fmt(mean)}`;
}

/** Runs `fn` `n` times one after another and returns each duration in ms. */
export async function sampleSequential(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await fn();
    samples.push(performance.now() - started);
  }
  return samples;
}

/** A seat whose raw client queues every frame for the bench to handle. */
export interface QueuedSeat {
  sid: string;
  token: string;
  client: RawClient;
  /** The next frame of `type` (other frames are dropped). */
  next<T extends ServerFrame["type"]>(type: T): Promise<Extract<ServerFrame, { type: T }>>;
  /** Sends a JSON frame. */
  send(frame: Json): void;
}

/** Mints a seat and connects a raw client that queues frames instead of answering. */
export async function connectQueuedSeat(
  server: TestServer,
  roles: string[] = [],
): Promise<QueuedSeat> {
  const minted = await server.mint(roles);
  const queue: ServerFrame[] = [];
  let wake: (() => void) | null = null;
  const client = await openRawClient(
    `${server.wsBase}/v1/operators/${minted.sid}/ws`,
    { Authorization: `Bearer ${minted.token}` },
    (text) => {
      queue.push(JSON.parse(text) as ServerFrame);
      wake?.();
      wake = null;
    },
  );
  await until(() => server.deps.sessions.get(minted.sid)?.connected === true);
  async function next<T extends ServerFrame["type"]>(
    type: T,
  ): Promise<Extract<ServerFrame, { type: T }>> {
    while (true) {
      const frame = queue.shift();
      if (frame === undefined) {
        const { promise, resolve } = Promise.withResolvers<void>();
        wake = resolve;
        await promise;
        continue;
      }
      // The `type` tag was just checked, so the frame is that member of the union.
      if (frame.type === type) return frame as Extract<ServerFrame, { type: T }>;
    }
  }
  return {
    sid: minted.sid,
    token: minted.token,
    client,
    next,
    send: (frame) => client.send(JSON.stringify(frame)),
  };
}

/** A task body of one `operator` step delegated to the `main-ai` seat. */
export function operatorTask(id: string): TaskBody {
  return TaskBody.parse({
    blueprint: { kind: "inline", value: operatorAgentBlueprint({ id }) },
    init_ctx: {},
  });
}

/** Prepares and starts a run of `body` in-process, as `POST /v1/runs` does. */
export async function startInProcess(server: TestServer, body: TaskBody): Promise<StartedRun> {
  const request = await prepareRun({
    operators: server.deps.operators,
    blueprints: server.deps.stores.blueprints,
    warn() {},
  }, body);
  return server.deps.engine.start(request);
}
