/**
 * The operator client's books: requests received, replies sent, and how each
 * reply learns that the server settled it (ping barriers and replay).
 *
 * @module
 */
import { REPLY_FOR, type ReplyFrame, type RequestFrame } from "../protocol/frames.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import type { Handlers, RequestContext, UnsettledReply } from "./operator_types.ts";

interface Entry {
  frame?: RequestFrame;
  controller: AbortController;
  state: "new" | "handling" | "waiting" | "replied";
  reply?: ReplyFrame;
  /** Times the reply went out. */
  sends: number;
  /** The ping after the reply's last send on the live socket. */
  barrier?: number;
  settle?: { resolve(): void; reject(err: unknown): void };
}

/** What the books need from the connection. */
export interface ReplyBookEnv {
  /** Sends a frame on the live socket; false when there is none. */
  send(frame: ReplyFrame): boolean;
  /** Sends a `ping`; false when there is no live socket. */
  ping(): boolean;
  handlers: Handlers;
  emitError(err: unknown): void;
}

const messageOf = (err: unknown) => err instanceof Error ? err.message : String(err);

/** Creates the books of one operator client. */
export function createReplyBook(env: ReplyBookEnv) {
  const entries = new Map<string, Entry>();
  let seq = 0;
  let pings: number[] = [];
  let replayBarrier: number | undefined;
  let replayed = new Set<string>();
  let halted = false;
  let flushWaiters: Array<() => void> = [];
  /** Recently cancelled req_ids: a refusal of a reply that crossed the cancel is expected. */
  const cancelled = new Set<string>();

  /** Wakes `flushed()` callers once no sent reply waits for its pong. */
  const checkFlushed = () => {
    if ([...entries.values()].some((e) => e.barrier !== undefined)) return;
    const waiters = flushWaiters;
    flushWaiters = [];
    for (const wake of waiters) wake();
  };

  const barrier = (): number | undefined => {
    if (!env.ping()) return undefined;
    pings.push(++seq);
    return seq;
  };

  const drop = (id: string, entry: Entry, abortReason?: unknown) => {
    entries.delete(id);
    if (abortReason !== undefined) entry.controller.abort(abortReason);
  };

  const transmit = (entry: Entry) => {
    if (!entry.reply || !env.send(entry.reply)) return;
    entry.sends++;
    entry.barrier = barrier();
  };

  const reply = (frame: ReplyFrame): Promise<void> => {
    if (halted) return Promise.reject(new Error("operator client closed"));
    let entry = entries.get(frame.req_id);
    if (entry?.state === "replied") {
      return Promise.reject(
        new SwitchboardError("conflict", `already replied to ${frame.req_id}`),
      );
    }
    const expected = entry?.frame ? REPLY_FOR[entry.frame.type] : frame.type;
    if (expected !== frame.type) {
      return Promise.reject(
        new SwitchboardError(
          "bad_request",
          `${frame.type} cannot reply to ${entry?.frame?.type}`,
        ),
      );
    }
    if (!entry) {
      entry = { controller: new AbortController(), state: "new", sends: 0 };
      entries.set(frame.req_id, entry);
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    entry.state = "replied";
    entry.reply = frame;
    entry.settle = { resolve, reject };
    transmit(entry);
    return promise;
  };

  /** The handler call for `frame` turned into a reply, or undefined without a handler. */
  const handlerFor = (
    frame: RequestFrame,
    ctx: RequestContext,
  ): (() => Promise<ReplyFrame | undefined>) | undefined => {
    const req_id = frame.req_id;
    const { ask, hook_before, spawn } = env.handlers;
    if (frame.type === "ask" && ask) {
      return async () => {
        const value = await ask(frame, ctx);
        return value === undefined ? undefined : { type: "answer", req_id, value };
      };
    }
    if (frame.type === "hook_before" && hook_before) {
      return async () => {
        const r = await hook_before(frame, ctx);
        if (r === undefined) return undefined;
        if (typeof r === "boolean") return { type: "hook_ack", req_id, ok: r };
        const ack: ReplyFrame = { type: "hook_ack", req_id, ok: r.ok, reason: r.reason ?? null };
        if (r.input !== undefined) ack.input = r.input;
        return ack;
      };
    }
    if (frame.type === "spawn" && spawn) {
      return async () => {
        const r = await spawn(frame, ctx);
        if (r === undefined) return undefined;
        return {
          type: "spawn_ack",
          req_id,
          value: r.value ?? null,
          ok: r.ok ?? true,
          error: r.error,
        };
      };
    }
    return undefined;
  };

  const onHandlerError = (
    frame: RequestFrame,
    err: unknown,
  ): ReplyFrame | undefined => {
    env.emitError(err);
    const req_id = frame.req_id;
    if (frame.type === "hook_before") {
      return { type: "hook_ack", req_id, ok: false, reason: messageOf(err) };
    }
    if (frame.type === "spawn") {
      return {
        type: "spawn_ack",
        req_id,
        value: null,
        ok: false,
        error: messageOf(err),
      };
    }
    return undefined; // an ask stays pending: answer it with op.answer
  };

  const dispatch = async (entry: Entry) => {
    const frame = entry.frame;
    if (!frame || entry.state !== "new") return;
    const ctx: RequestContext = { signal: entry.controller.signal };
    if (frame.context) ctx.context = frame.context;
    if (frame.type === "ask" && frame.schema) ctx.schema = frame.schema;
    const run = handlerFor(frame, ctx);
    if (!run) return;
    entry.state = "handling";
    let out: ReplyFrame | undefined;
    try {
      out = await run();
    } catch (err) {
      if (ctx.signal.aborted) return;
      out = onHandlerError(frame, err);
    }
    if (
      ctx.signal.aborted || entries.get(frame.req_id) !== entry ||
      entry.state !== "handling"
    ) {
      return;
    }
    if (out === undefined) {
      entry.state = "waiting";
      return;
    }
    reply(out).catch((err) => {
      if (!halted) env.emitError(err);
    });
  };

  const onRequest = (frame: RequestFrame) => {
    if (replayBarrier !== undefined) replayed.add(frame.req_id);
    const entry = entries.get(frame.req_id);
    if (!entry) {
      const fresh: Entry = {
        frame,
        controller: new AbortController(),
        state: "new",
        sends: 0,
      };
      entries.set(frame.req_id, fresh);
      void dispatch(fresh);
      return;
    }
    entry.frame ??= frame;
    // Replayed after we replied: the server never got the reply. Send it again.
    if (entry.state === "replied" && entry.barrier === undefined) {
      transmit(entry);
    }
  };

  const onError = (frame: Extract<ServerFrame, { type: "error" }>) => {
    const entry = frame.req_id === undefined ? undefined : entries.get(frame.req_id);
    if (!entry?.settle || frame.req_id === undefined) {
      if (frame.req_id !== undefined && cancelled.has(frame.req_id)) return;
      env.emitError(new Error(`server refused a frame: ${frame.error}`));
      return;
    }
    const unknown = /unknown or already settled/.test(frame.error);
    if (unknown && entry.sends > 1) {
      // A resend found the first send already applied.
      drop(frame.req_id, entry);
      entry.settle.resolve();
      return;
    }
    const settle = entry.settle;
    if (unknown) drop(frame.req_id, entry, new Error(frame.error));
    else {
      // The request is still pending on the server: let the caller reply again.
      entry.state = "waiting";
      entry.reply = undefined;
      entry.settle = undefined;
      entry.barrier = undefined;
    }
    // an answer its ask's schema refuses: the server's issues go with the error
    const extra = frame.issues === undefined ? undefined : { issues: frame.issues };
    settle.reject(
      new SwitchboardError(unknown ? "conflict" : "bad_request", frame.error, { extra }),
    );
  };

  const onCancel = (frame: Extract<ServerFrame, { type: "cancel" }>) => {
    cancelled.add(frame.req_id);
    if (cancelled.size > 256) {
      cancelled.delete(cancelled.values().next().value!);
    }
    const entry = entries.get(frame.req_id);
    if (entry) {
      drop(
        frame.req_id,
        entry,
        new Error(`request cancelled: ${frame.reason}`),
      );
      entry.settle?.reject(new Error(`request cancelled: ${frame.reason}`));
    }
    try {
      env.handlers.cancel?.(frame);
    } catch (err) {
      env.emitError(err);
    }
  };

  const reconcile = () => {
    replayBarrier = undefined;
    for (const [id, entry] of [...entries]) {
      if (replayed.has(id) || entry.barrier !== undefined) continue;
      if (entry.state === "replied") {
        // Not replayed: settled while we were away, or gone before our reply left.
        drop(id, entry);
        if (entry.sends > 0) entry.settle?.resolve();
        else {entry.settle?.reject(
            new Error(`request ${id} is no longer pending`),
          );}
      } else if (entry.frame) {
        drop(id, entry, new Error(`request ${id} is no longer pending`));
      }
    }
    replayed = new Set();
  };

  const onPong = () => {
    const at = pings.shift();
    if (at === undefined) return;
    if (at === replayBarrier) reconcile();
    for (const [id, entry] of [...entries]) {
      if (entry.barrier !== undefined && entry.barrier <= at) {
        drop(id, entry);
        entry.settle?.resolve();
      }
    }
    checkFlushed();
  };

  return {
    reply,
    barrier,
    /** A socket opened: mark where the replay ends. */
    connected() {
      pings = [];
      replayed = new Set();
      replayBarrier = undefined;
      replayBarrier = barrier();
    },
    /** The socket went away: pings in flight will never be answered. */
    disconnected() {
      pings = [];
      replayBarrier = undefined;
      for (const entry of entries.values()) entry.barrier = undefined;
      checkFlushed();
    },
    receive(frame: ServerFrame) {
      switch (frame.type) {
        case "ask":
        case "hook_before":
        case "spawn":
          return onRequest(frame);
        case "hook_after":
          try {
            Promise.resolve(env.handlers.hook_after?.(frame, { context: frame.context })).catch(
              env.emitError,
            );
          } catch (err) {
            env.emitError(err);
          }
          return;
        case "cancel":
          return onCancel(frame);
        case "error":
          onError(frame);
          return checkFlushed();
        case "pong":
          return onPong();
      }
    },
    dispatchWaiting() {
      for (const entry of [...entries.values()]) void dispatch(entry);
    },
    pending(): RequestFrame[] {
      return [...entries.values()].filter((e) => e.frame && e.state !== "replied")
        .map((e) => e.frame!);
    },
    unsettled(): UnsettledReply[] {
      return [...entries.values()].filter((e) => e.state === "replied" && e.reply)
        .map((e) => ({ reply: e.reply!, sent: e.sends > 0 }));
    },
    /** Resolves once every reply sent on the live socket has been settled or refused. */
    flushed(): Promise<void> {
      const { promise, resolve } = Promise.withResolvers<void>();
      flushWaiters.push(resolve);
      checkFlushed();
      return promise;
    },
    stop(err: Error) {
      halted = true;
      for (const [id, entry] of [...entries]) {
        drop(id, entry, err);
        entry.settle?.reject(err);
      }
      checkFlushed();
    },
  };
}
