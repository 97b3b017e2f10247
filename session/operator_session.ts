/**
 * One operator seat: its pending requests and its (swappable) live socket. It
 * implements the engine's three faces, so the engine asks, gates and delegates
 * through it without knowing about sockets.
 *
 * - A request waits for its reply across disconnects; every (re)connect replays
 *   the pending `ask`, `hook_before` and `spawn` frames in the order first sent.
 * - The first valid reply settles a request (at most once). Everything else a
 *   client sends that cannot be applied gets an `error` frame.
 * - A request ends early when its signal aborts (`cancel` with `timeout` or
 *   `run_ended`) or when the seat is torn down (`session_deleted`).
 *
 * @module
 */
import type {
  CtxView,
  FaceCallOptions,
  Operator,
  SeniorBridge,
  SpawnHook,
  WorkerGrant,
  WorkerResult,
} from "../engine/faces.ts";
import { RunEnded } from "../engine/faces.ts";
import type { Json } from "../protocol/json.ts";
import {
  type CancelReason,
  type ReplyFrame,
  REQUEST_KINDS,
  type RequestFrame,
  type ServerFrame,
} from "../protocol/frames.ts";
import type { RequestRecord, SeatStore } from "../store/seat_store.ts";
import type { Logger } from "../observe/log.ts";
import type { Metrics } from "../observe/metrics.ts";
import { spawnDirective } from "./directive.ts";
import { parseClientFrame } from "./parse_client_frame.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import { CLOSE, MAX_FRAME_BYTES } from "../protocol/frames.ts";

/** What a session needs from its server. */
export interface SessionEnv {
  store: SeatStore;
  log: Logger;
  metrics: Metrics;
  /** Base URL written into spawn directives. */
  publicUrl: string;
  now(): number;
  /** Told about each request sent, settled or cancelled (run event log). */
  observe?(event: RequestEventType, record: RequestRecord): void;
}

/** What {@link SessionEnv.observe} hears about. */
export type RequestEventType =
  | "operator_request_sent"
  | "operator_request_settled"
  | "operator_request_cancelled";

/** The persisted identity of a seat. */
export interface SeatIdentity {
  sid: string;
  tokenHash: string;
  roles: string[];
  createdAt: number;
  lastSeenAt: number;
}

type Kind = RequestRecord["kind"];

interface Pending {
  record: RequestRecord;
  waiter?: { resolve(reply: ReplyFrame): void; reject(err: unknown): void };
}

const REPLY_TYPE: Record<Kind, ReplyFrame["type"]> = {
  ask: "answer",
  hb: "hook_ack",
  spawn: "spawn_ack",
};

const encoder = new TextEncoder();

function byteLength(text: string): number {
  return text.length * 3 <= MAX_FRAME_BYTES ? text.length : encoder.encode(text).length;
}

function dedupeKey(runId: string, taskId: string, attempt: number, kind: Kind): string {
  return `${runId}|${taskId}|${attempt}|${kind}`;
}

function addTo(index: Map<string, Set<string>>, runId: string, item: string): void {
  const set = index.get(runId);
  if (set) set.add(item);
  else index.set(runId, new Set([item]));
}

function removeFrom(
  index: Map<string, Set<string>> | undefined,
  runId: string,
  item: string,
): void {
  const set = index?.get(runId);
  if (set?.delete(item) && set.size === 0) index?.delete(runId);
}

/** The `cancel` reason and the rejection for an aborted wait. */
function abortOutcome(reason: unknown): { cancel: CancelReason; error: unknown } {
  if (reason instanceof RunEnded) {
    return reason.why === "timeout"
      ? { cancel: "timeout", error: new Error("operator request timed out") }
      : { cancel: "run_ended", error: reason };
  }
  if (reason instanceof DOMException && reason.name === "TimeoutError") {
    return { cancel: "timeout", error: new Error("operator request timed out") };
  }
  return { cancel: "run_ended", error: reason };
}

/** A seated operator. Implements the senior-bridge, spawn-hook and operator faces. */
export class OperatorSession implements SeniorBridge, SpawnHook, Operator {
  readonly sid: string;
  readonly roles: readonly string[];
  readonly tokenHash: string;
  readonly createdAt: number;
  lastSeenAt: number;

  #env: SessionEnv;
  #socket: WebSocket | null = null;
  // The request maps are made on first write: an idle seat holds none (10,000
  // idle seats are a benchmark case; see BENCHMARKS.md).
  #pendingMap?: Map<string, Pending>;
  #byKeyMap?: Map<string, string>;
  #settledByKeyMap?: Map<string, ReplyFrame>;
  /**
   * Pending req_ids and settled keys by run id, so `forgetRun` touches only its
   * own. Made on first use: most seats never hold a run's request.
   */
  #pendingByRun?: Map<string, Set<string>>;
  #settledByRun?: Map<string, Set<string>>;
  #closed = false;
  #persisting: Promise<void> = Promise.resolve();

  constructor(identity: SeatIdentity, env: SessionEnv) {
    this.sid = identity.sid;
    this.roles = [...identity.roles];
    this.tokenHash = identity.tokenHash;
    this.createdAt = identity.createdAt;
    this.lastSeenAt = identity.lastSeenAt;
    this.#env = env;
  }

  get #pending(): Map<string, Pending> {
    return this.#pendingMap ??= new Map();
  }

  get #byKey(): Map<string, string> {
    return this.#byKeyMap ??= new Map();
  }

  get #settledByKey(): Map<string, ReplyFrame> {
    return this.#settledByKeyMap ??= new Map();
  }

  /** True while a socket is live. */
  get connected(): boolean {
    return this.#socket !== null;
  }

  /** True once the seat has been torn down. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Pending request frames in the order first sent. */
  pendingFrames(): RequestFrame[] {
    return [...(this.#pendingMap?.values() ?? [])].map((p) => p.record.frame);
  }

  /** Number of pending requests. */
  get pendingCount(): number {
    return this.#pendingMap?.size ?? 0;
  }

  /** Pending requests counted by kind (`ask`, `hb`, `spawn`). */
  pendingByKind(): Record<Kind, number> {
    const counts: Record<Kind, number> = { ask: 0, hb: 0, spawn: 0 };
    for (const p of this.#pendingMap?.values() ?? []) counts[p.record.kind]++;
    return counts;
  }

  // -------------------------------------------------------------------------
  // faces

  /** Senior bridge: sends `ask` and resolves with the answer's value. */
  async ask(taskId: string, question: Json, options: FaceCallOptions = {}): Promise<Json> {
    const reply = await this.#request("ask", taskId, options.attempt ?? 1, options, (reqId) => ({
      type: "ask",
      req_id: reqId,
      task_id: taskId,
      question,
    }));
    return reply.type === "answer" ? reply.value : null;
  }

  /** Spawn hook: sends `hook_before`; a veto rejects with the operator's reason. */
  async before(ctx: CtxView, options: FaceCallOptions = {}): Promise<void> {
    const reply = await this.#request(
      "hb",
      ctx.taskId,
      ctx.attempt,
      { runId: ctx.runId, ...options },
      (reqId) => ({
        type: "hook_before",
        req_id: reqId,
        task_id: ctx.taskId,
        agent: ctx.agent,
        attempt: ctx.attempt,
      }),
    );
    if (reply.type === "hook_ack" && !reply.ok) {
      throw new Error(reply.reason ?? "ws operator: spawn rejected");
    }
  }

  /** Spawn hook: sends `hook_after` if a socket is live, else counts a drop. */
  after(ctx: CtxView, result: Json): Promise<void> {
    const frame: ServerFrame = {
      type: "hook_after",
      req_id: `${this.sid}-${REQUEST_KINDS.hook_after}-${crypto.randomUUID()}`,
      task_id: ctx.taskId,
      agent: ctx.agent,
      attempt: ctx.attempt,
      result,
    };
    if (!this.#send(frame)) this.#env.metrics.hookAfterDropped();
    return Promise.resolve();
  }

  /** Operator: sends `spawn` and resolves with the ack's value and verdict. */
  async execute(
    ctx: CtxView,
    _system: string | null,
    _prompt: string,
    grant: WorkerGrant,
    signal: AbortSignal,
  ): Promise<WorkerResult> {
    const reply = await this.#request(
      "spawn",
      ctx.taskId,
      ctx.attempt,
      { runId: ctx.runId, signal },
      (reqId) => ({
        type: "spawn",
        req_id: reqId,
        task_id: ctx.taskId,
        agent: ctx.agent,
        attempt: ctx.attempt,
        capability_token: grant.capabilityToken,
        worker_handle: grant.workerHandle,
        directive: spawnDirective({
          baseUrl: this.#env.publicUrl,
          agent: ctx.agent,
          taskId: ctx.taskId,
          alias: typeof ctx.runtime.project_name_alias === "string"
            ? ctx.runtime.project_name_alias
            : undefined,
        }),
      }),
    );
    if (reply.type !== "spawn_ack") return { value: null, ok: true };
    if (typeof reply.error === "string") throw new Error(reply.error);
    return { value: reply.value ?? null, ok: reply.ok ?? true };
  }

  // -------------------------------------------------------------------------
  // requests

  #request(
    kind: Kind,
    taskId: string,
    attempt: number,
    options: FaceCallOptions,
    build: (reqId: string) => RequestFrame,
  ): Promise<ReplyFrame> {
    if (this.#closed) return Promise.reject(new Error("operator session deleted"));
    const { signal, runId } = options;
    if (signal?.aborted) return Promise.reject(abortOutcome(signal.reason).error);

    const key = runId === undefined ? undefined : dedupeKey(runId, taskId, attempt, kind);
    if (key !== undefined) {
      const settled = this.#settledByKey.get(key);
      if (settled) {
        this.#settledByKey.delete(key);
        removeFrom(this.#settledByRun, runId!, key); // key is set only when runId is
        return Promise.resolve(settled);
      }
    }
    const existing = key === undefined ? undefined : this.#pending.get(this.#byKey.get(key) ?? "");
    const pending = existing ?? this.#open(kind, taskId, attempt, runId, key, build);

    const { promise, resolve, reject } = Promise.withResolvers<ReplyFrame>();
    pending.waiter = { resolve, reject };
    if (!signal) return promise;
    const onAbort = () => this.#abort(pending.record.req_id, signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    return promise.finally(() => signal.removeEventListener("abort", onAbort));
  }

  #open(
    kind: Kind,
    taskId: string,
    attempt: number,
    runId: string | undefined,
    key: string | undefined,
    build: (reqId: string) => RequestFrame,
  ): Pending {
    const reqId = `${this.sid}-${kind}-${crypto.randomUUID()}`;
    const record: RequestRecord = {
      req_id: reqId,
      sid: this.sid,
      kind,
      task_id: taskId,
      attempt,
      frame: build(reqId),
      sent_at: this.#env.now(),
      state: "pending",
    };
    if (runId !== undefined) record.run_id = runId;
    const pending: Pending = { record };
    this.#pending.set(reqId, pending);
    if (key !== undefined) this.#byKey.set(key, reqId);
    if (runId !== undefined) addTo(this.#pendingByRun ??= new Map(), runId, reqId);
    this.#persist(() => this.#env.store.putRequest(record));
    this.#send(record.frame);
    this.#env.observe?.("operator_request_sent", record);
    this.#env.log.info("operator request sent", {
      sid: this.sid,
      req_id: reqId,
      kind: record.frame.type,
      run_id: runId,
      task_id: taskId,
      delivered: this.connected,
    });
    return pending;
  }

  #forget(pending: Pending): void {
    const { record } = pending;
    this.#pending.delete(record.req_id);
    if (record.run_id !== undefined) {
      const key = dedupeKey(record.run_id, record.task_id, record.attempt, record.kind);
      if (this.#byKey.get(key) === record.req_id) this.#byKey.delete(key);
      removeFrom(this.#pendingByRun, record.run_id, record.req_id);
    }
  }

  #abort(reqId: string, reason: unknown): void {
    const pending = this.#pending.get(reqId);
    if (!pending) return;
    const { cancel, error } = abortOutcome(reason);
    this.#forget(pending);
    this.#persist(() => this.#env.store.deleteRequest(this.sid, reqId));
    this.#send({ type: "cancel", req_id: reqId, reason: cancel });
    this.#env.observe?.("operator_request_cancelled", pending.record);
    this.#env.log.info("operator request cancelled", {
      sid: this.sid,
      req_id: reqId,
      run_id: pending.record.run_id,
      reason: cancel,
    });
    pending.waiter?.reject(error);
  }

  #settle(reply: ReplyFrame): void {
    const pending = this.#pending.get(reply.req_id);
    if (!pending) {
      throw new SwitchboardError("conflict", `unknown or already settled req_id: ${reply.req_id}`);
    }
    const { record } = pending;
    const expected = REPLY_TYPE[record.kind];
    if (reply.type !== expected) {
      throw new SwitchboardError(
        "bad_request",
        `unexpected ${reply.type} reply to ${record.frame.type} (expected ${expected})`,
      );
    }
    this.#forget(pending);
    const seconds = (this.#env.now() - record.sent_at) / 1000;
    this.#env.metrics.observeRoundtrip(record.frame.type, Math.max(0, seconds));
    this.#env.observe?.("operator_request_settled", record);
    this.#env.log.info("operator request settled", {
      sid: this.sid,
      req_id: record.req_id,
      kind: record.frame.type,
      run_id: record.run_id,
      task_id: record.task_id,
    });
    if (record.run_id === undefined) {
      this.#persist(() => this.#env.store.deleteRequest(this.sid, record.req_id));
    } else {
      // Kept until the run ends, so a replay after a restart finds the reply.
      const settled: RequestRecord = { ...record, state: "settled", reply };
      this.#persist(() => this.#env.store.putRequest(settled));
    }
    if (pending.waiter) pending.waiter.resolve(reply);
    else if (record.run_id !== undefined) {
      this.#rememberSettled(record, reply);
    }
  }

  /** Loads a stored request after a restart (pending ones wait for their run). */
  restore(record: RequestRecord): void {
    if (record.state === "settled") {
      if (record.run_id !== undefined && record.reply) this.#rememberSettled(record, record.reply);
      return;
    }
    this.#pending.set(record.req_id, { record });
    if (record.run_id !== undefined) {
      this.#byKey.set(
        dedupeKey(record.run_id, record.task_id, record.attempt, record.kind),
        record.req_id,
      );
      addTo(this.#pendingByRun ??= new Map(), record.run_id, record.req_id);
    }
  }

  /** Keeps a reply no waiter took yet, for the run's next call of this attempt. */
  #rememberSettled(record: RequestRecord, reply: ReplyFrame): void {
    const runId = record.run_id!; // callers check it
    const key = dedupeKey(runId, record.task_id, record.attempt, record.kind);
    this.#settledByKey.set(key, reply);
    addTo(this.#settledByRun ??= new Map(), runId, key);
  }

  /** True when a request (pending or settled) exists for this attempt of a run. */
  hasRequest(runId: string, taskId: string, attempt: number): boolean {
    return (["ask", "hb", "spawn"] as const).some((kind) => {
      const key = dedupeKey(runId, taskId, attempt, kind);
      return this.#byKeyMap?.has(key) === true || this.#settledByKeyMap?.has(key) === true;
    });
  }

  /** Drops what the session remembers of a run that has ended. */
  forgetRun(runId: string): void {
    for (const key of this.#settledByRun?.get(runId) ?? []) this.#settledByKey.delete(key);
    this.#settledByRun?.delete(runId);
    const reqIds = this.#pendingByRun?.get(runId);
    if (!reqIds) return;
    for (const reqId of [...reqIds]) {
      const pending = this.#pending.get(reqId);
      if (pending && !pending.waiter) {
        this.#forget(pending);
        this.#send({ type: "cancel", req_id: reqId, reason: "run_ended" });
      }
    }
  }

  // -------------------------------------------------------------------------
  // sockets

  /** Makes `socket` the live socket (closing an older one) and replays pending frames. */
  attach(socket: WebSocket): void {
    if (this.#closed) {
      socket.close(CLOSE.sessionDeleted, "session deleted");
      return;
    }
    const old = this.#socket;
    this.#socket = socket;
    this.lastSeenAt = this.#env.now();
    if (old && old !== socket) closeQuietly(old, CLOSE.replaced, "replaced");
    this.#env.log.info("operator socket connected", {
      sid: this.sid,
      replaced: old !== null,
      pending: this.#pendingMap?.size ?? 0,
    });
    for (const pending of this.#pendingMap?.values() ?? []) this.#send(pending.record.frame);
  }

  /** Called when `socket` closes; it detaches only if it is still the live one. */
  detach(socket: WebSocket, code?: number): void {
    if (this.#socket !== socket) return;
    this.#socket = null;
    this.lastSeenAt = this.#env.now();
    this.#env.log.info("operator socket closed", { sid: this.sid, code });
  }

  /** Handles one message from `socket`. Never throws. */
  receive(socket: WebSocket, data: unknown): void {
    if (typeof data !== "string") {
      closeQuietly(socket, CLOSE.unsupportedData, "binary frames are not supported");
      return;
    }
    if (byteLength(data) > MAX_FRAME_BYTES) {
      closeQuietly(socket, CLOSE.tooBig, "frame larger than 1 MiB");
      return;
    }
    this.lastSeenAt = this.#env.now();
    let reqId: string | undefined;
    try {
      const frame = parseClientFrame(data);
      if (frame.type === "ping") {
        sendOn(socket, { type: "pong" });
        return;
      }
      reqId = frame.req_id;
      this.#settle(frame);
    } catch (err) {
      if (err instanceof SwitchboardError) {
        const frame: ServerFrame = { type: "error", error: err.message };
        if (reqId !== undefined) frame.req_id = reqId;
        sendOn(socket, frame);
        return;
      }
      this.#env.log.error("operator frame failed", { sid: this.sid, error: String(err) });
      closeQuietly(socket, CLOSE.internalError, "internal error");
    }
  }

  /** Tears the seat down: pending requests fail at once and a live socket gets 4001. */
  teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    const socket = this.#socket;
    for (const pending of [...this.#pending.values()]) {
      this.#forget(pending);
      this.#send({ type: "cancel", req_id: pending.record.req_id, reason: "session_deleted" });
      pending.waiter?.reject(new Error("operator session deleted"));
    }
    this.#settledByKeyMap?.clear();
    this.#settledByRun = undefined;
    this.#pendingByRun = undefined;
    this.#socket = null;
    if (socket) closeQuietly(socket, CLOSE.sessionDeleted, "session deleted");
  }

  /** Closes a live socket with `code` (for example 1001 at shutdown). */
  closeSocket(code: number, reason: string): void {
    const socket = this.#socket;
    this.#socket = null;
    if (socket) closeQuietly(socket, code, reason);
  }

  /** Waits until every store write issued so far has finished. */
  flush(): Promise<void> {
    return this.#persisting;
  }

  #send(frame: ServerFrame): boolean {
    return this.#socket !== null && sendOn(this.#socket, frame);
  }

  #persist(write: () => Promise<void>): void {
    this.#persisting = this.#persisting.then(write).catch((err) => {
      this.#env.log.error("seat store write failed", { sid: this.sid, error: String(err) });
    });
  }
}

function sendOn(socket: WebSocket, frame: ServerFrame): boolean {
  if (socket.readyState !== WebSocket.OPEN) return false;
  try {
    socket.send(JSON.stringify(frame));
    return true;
  } catch {
    return false;
  }
}

function closeQuietly(socket: WebSocket, code: number, reason: string): void {
  try {
    if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
      socket.close(code, reason);
    }
  } catch {
    // already closing
  }
}
