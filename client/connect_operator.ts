/**
 * The operator WebSocket client (SPEC §4, §8). Web APIs only, so the same file
 * runs in Deno and in browsers.
 *
 * - Auth uses the subprotocols `bearer, <token>` (browsers cannot set headers).
 * - Every incoming frame is validated with the `protocol/frames.ts` schemas.
 * - Replies are tracked until the server has settled them. The protocol has no
 *   acknowledgement, so the client uses two facts about the server: it handles a
 *   socket's frames in order and answers a `ping` with `pong`, and it replays
 *   every still-pending request on connect. A `ping` after each reply is a
 *   barrier: `pong` without an `error` for that req_id means it was settled. On
 *   reconnect, a `ping` sent first marks the end of the replay: a replayed
 *   request we had replied to gets the reply again, and one that was not
 *   replayed was settled (or cancelled) while we were away.
 * - Reconnects use exponential backoff with jitter and a cap. It stops for good
 *   on 4001 (session deleted), on 4000 (replaced: another client holds the seat,
 *   and taking it back would start a tug of war; opt in with
 *   `reconnectOnReplaced`), after `close()`, and when a failed handshake is
 *   explained by `GET /v1/operators/:sid` answering 401 or 404.
 *
 * @module
 */
import {
  type AskFrame,
  type CancelFrame,
  CLOSE,
  type HookAfterFrame,
  type HookBeforeFrame,
  MAX_FRAME_BYTES,
  REPLY_FOR,
  ReplyFrame,
  type RequestFrame,
  ServerFrame,
  type SpawnFrame,
} from "../protocol/frames.ts";
import type { Json } from "../protocol/json.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import { backoffDelay, type BackoffOptions } from "./backoff.ts";
import { seatInfo } from "./http.ts";
import { createReplyBook } from "./_reply_book.ts";
import type {
  ConnectionState,
  ConnectOperatorOptions,
  Handlers,
  OperatorClient,
  ReplyInput,
  StateChange,
} from "./operator_types.ts";

export type * from "./operator_types.ts";

/** Close code the client uses when a heartbeat `pong` does not come back. */
export const CLOSE_HEARTBEAT_TIMEOUT = 4100;

/** How long `close()` waits for replies in flight to settle. */
const CLOSE_FLUSH_MS = 1_000;

/** What the client declares as `?client=` unless told otherwise. */
export const CLIENT_NAME = "switchboard-client";

const encoder = new TextEncoder();

/**
 * Connects an operator seat and resolves once the first socket is open.
 *
 * Rejects with a `SwitchboardError` when the first handshake fails (for example
 * 401 `token mismatch` or 404 `unknown sid`, read from `GET /v1/operators/:sid`).
 *
 * @example Usage
 * ```ts ignore
 * const op = await connectOperator({ url: "http://127.0.0.1:7777", sid, token });
 * op.onAsk((frame) => ({ approved: true, question: frame.question }));
 * op.onHookBefore(() => true);
 * ```
 */
export function connectOperator(
  options: ConnectOperatorOptions,
): Promise<OperatorClient> {
  const { url, sid, token } = options;
  const wsUrl = `${url.replace(/\/+$/, "").replace(/^http/, "ws")}/v1/operators/${sid}/ws` +
    `?client=${encodeURIComponent(options.client ?? CLIENT_NAME)}`;
  const backoff: BackoffOptions = options.backoff ?? {};
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxRetries = options.maxRetries ?? Infinity;
  const handlers: Handlers = {};
  const stateListeners = new Set<(change: StateChange) => void>();
  const errorListeners = new Set<(error: Error) => void>();

  let state: ConnectionState = "connecting";
  let socket: WebSocket | null = null;
  let everOpened = false;
  let failures = 0;
  let stopped = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let heartbeatOwed = false;
  const first = Promise.withResolvers<OperatorClient>();
  const closed = Promise.withResolvers<StateChange>();
  const socketGone = new Set<Promise<void>>();

  const emitError = (error: unknown) => {
    const err = error instanceof Error ? error : new Error(String(error));
    if (errorListeners.size === 0) {
      console.warn("switchboard operator client:", err.message);
    }
    for (const listener of errorListeners) listener(err);
  };
  const setState = (change: StateChange) => {
    state = change.state;
    for (const listener of stateListeners) {
      try {
        listener(change);
      } catch (err) {
        emitError(err);
      }
    }
  };

  const sendText = (text: string): boolean => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    try {
      socket.send(text);
      return true;
    } catch {
      return false;
    }
  };

  const book = createReplyBook({
    send: (frame) => sendText(JSON.stringify(frame)),
    ping: () => sendText('{"type":"ping"}'),
    handlers,
    emitError,
  });

  const finish = (change: StateChange) => {
    if (state === "closed") return;
    stopped = true;
    clearTimeout(retryTimer);
    clearInterval(heartbeat);
    book.stop(
      new Error(`operator client closed: ${change.reason ?? change.state}`),
    );
    setState(change);
    closed.resolve(change);
    if (!everOpened) {
      first.reject(change.error ?? new Error(change.reason ?? "closed"));
    }
  };

  /** Asks the REST route why a handshake failed: 401/404 stop for good. */
  const explainFailure = async (): Promise<SwitchboardError | null> => {
    try {
      await seatInfo({ url, sid, token, signal: AbortSignal.timeout(5_000) });
      return null;
    } catch (err) {
      if (
        err instanceof SwitchboardError &&
        (err.status === 401 || err.status === 404)
      ) {
        return err;
      }
      return null;
    }
  };

  const scheduleRetry = (
    code: number | undefined,
    reason: string | undefined,
  ) => {
    if (stopped) return;
    if (failures >= maxRetries) {
      finish({
        state: "closed",
        code,
        reason: reason || "gave up reconnecting",
      });
      return;
    }
    const delayMs = backoffDelay(failures, backoff);
    failures++;
    setState({
      state: "reconnecting",
      code,
      reason,
      attempt: failures,
      delayMs,
    });
    retryTimer = setTimeout(open, delayMs);
  };

  const onSocketClosed = async (
    ws: WebSocket,
    opened: boolean,
    code: number,
    reason: string,
  ) => {
    if (ws !== socket) return;
    socket = null;
    clearInterval(heartbeat);
    book.disconnected();
    if (stopped) return;
    if (code === CLOSE.sessionDeleted) {
      finish({ state: "closed", code, reason: reason || "session deleted" });
      return;
    }
    if (code === CLOSE.replaced && !options.reconnectOnReplaced) {
      finish({ state: "closed", code, reason: reason || "replaced" });
      return;
    }
    if (!opened) {
      const why = await explainFailure();
      if (stopped) return;
      if (why || !everOpened) {
        const error = why ?? new Error(`could not connect to ${wsUrl}`);
        finish({ state: "closed", code, reason: error.message, error });
        return;
      }
    }
    scheduleRetry(code, reason);
  };

  function open(): void {
    if (stopped) return;
    const ws = new WebSocket(wsUrl, ["bearer", token]);
    socket = ws;
    let opened = false;
    const gone = Promise.withResolvers<void>();
    socketGone.add(gone.promise);
    ws.onopen = () => {
      if (ws !== socket) return;
      opened = true;
      everOpened = true;
      failures = 0;
      book.connected();
      heartbeatOwed = false;
      if (heartbeatMs > 0) heartbeat = setInterval(beat, heartbeatMs);
      setState({ state: "open" });
      first.resolve(client);
    };
    ws.onmessage = (event) => {
      if (ws !== socket) return;
      if (typeof event.data !== "string") {
        return emitError(new Error("binary frame ignored"));
      }
      let raw: unknown;
      try {
        raw = JSON.parse(event.data);
      } catch {
        return emitError(new Error("server frame is not JSON"));
      }
      const parsed = ServerFrame.safeParse(raw);
      if (!parsed.success) {
        return emitError(
          new Error(`invalid server frame: ${parsed.error.issues[0]?.message}`),
        );
      }
      if (parsed.data.type === "pong") heartbeatOwed = false;
      book.receive(parsed.data);
    };
    ws.onerror = () => {};
    ws.onclose = (event) => {
      gone.resolve();
      socketGone.delete(gone.promise);
      onSocketClosed(ws, opened, event.code, event.reason).catch(emitError);
    };
  }

  function beat(): void {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (heartbeatOwed) {
      // No pong for a whole interval: the connection is dead. Drop it now
      // rather than wait for a closing handshake that may never come.
      const dead = socket;
      const closing = onSocketClosed(
        dead,
        true,
        CLOSE_HEARTBEAT_TIMEOUT,
        "heartbeat timeout",
      );
      closing.catch(emitError);
      try {
        dead.close(CLOSE_HEARTBEAT_TIMEOUT, "heartbeat timeout");
      } catch {
        // already closing
      }
      return;
    }
    heartbeatOwed = true;
    book.barrier();
  }

  const reply = (input: ReplyInput): Promise<void> => {
    const parsed = ReplyFrame.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return Promise.reject(
        new SwitchboardError(
          "invalid",
          `invalid ${input.type} reply: ${issue?.message}`,
        ),
      );
    }
    const text = JSON.stringify(parsed.data);
    if (
      text.length > MAX_FRAME_BYTES / 3 &&
      encoder.encode(text).length > MAX_FRAME_BYTES
    ) {
      return Promise.reject(
        new SwitchboardError("too_large", "reply larger than 1 MiB"),
      );
    }
    if (stopped) return Promise.reject(new Error("operator client closed"));
    return book.reply(parsed.data);
  };

  function register<K extends keyof Handlers>(
    kind: K,
    handler: Handlers[K],
  ): OperatorClient {
    handlers[kind] = handler;
    book.dispatchWaiting();
    return client;
  }

  const client: OperatorClient = {
    sid,
    get state() {
      return state;
    },
    closed: closed.promise,
    onAsk: (handler) => register("ask", handler),
    onHookBefore: (handler) => register("hook_before", handler),
    onHookAfter: (handler) => register("hook_after", handler),
    onSpawn: (handler) => register("spawn", handler),
    onCancel: (handler) => register("cancel", handler),
    onState(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    onError(listener) {
      errorListeners.add(listener);
      return () => errorListeners.delete(listener);
    },
    pending: () => book.pending(),
    unsettled: () => book.unsettled(),
    reply,
    answer: (reqId: string, value: Json) => reply({ type: "answer", req_id: reqId, value }),
    approve: (reqId: string, edits: { input?: Json } = {}) =>
      reply(
        edits.input === undefined
          ? { type: "hook_ack", req_id: reqId, ok: true }
          : { type: "hook_ack", req_id: reqId, ok: true, input: edits.input },
      ),
    veto: (reqId: string, reason?: string) =>
      reply({
        type: "hook_ack",
        req_id: reqId,
        ok: false,
        reason: reason ?? null,
      }),
    ack: (reqId: string, result = {}) => reply({ type: "spawn_ack", req_id: reqId, ...result }),
    async close() {
      if (socket?.readyState === WebSocket.OPEN && state !== "closed") {
        // Let replies already on the wire settle first (bounded).
        const timer = Promise.withResolvers<void>();
        const t = setTimeout(timer.resolve, CLOSE_FLUSH_MS);
        await Promise.race([book.flushed(), timer.promise]);
        clearTimeout(t);
      }
      const ws = socket;
      finish({ state: "closed", code: 1000, reason: "client closed" });
      if (ws && ws.readyState !== WebSocket.CLOSED) {
        try {
          ws.close(1000, "client closed");
        } catch {
          // already closing
        }
      }
      await Promise.all(socketGone);
    },
    [Symbol.asyncDispose]() {
      return client.close();
    },
  };

  Object.assign(handlers, options.handlers);
  options.signal?.addEventListener("abort", () => client.close(), {
    once: true,
  });
  open();
  return first.promise;
}

/** The reply type a request frame expects. */
export function replyTypeFor(frame: RequestFrame): ReplyFrame["type"] {
  return REPLY_FOR[frame.type];
}

/** Request frames by type (handy for callers that switch on `pending()`). */
export type { AskFrame, CancelFrame, HookAfterFrame, HookBeforeFrame, SpawnFrame };
