/**
 * One operator seat: it implements the engine's three faces over a request book
 * (session/request_book.ts) and a socket slot (session/socket_slot.ts), so the
 * engine asks, gates and delegates through it without knowing about sockets.
 *
 * - A request waits for its reply across disconnects; every (re)connect replays
 *   the pending `ask`, `hook_before` and `spawn` frames in the order first sent.
 * - The first valid reply settles a request (at most once). Everything else a
 *   client sends that cannot be applied gets an `error` frame.
 * - A request ends early when its signal aborts (`cancel` with `timeout` or
 *   `run_ended`) or when the seat is torn down (`session_deleted`).
 * - The seat persists nothing: it reports each request of a run (sent, settled,
 *   cancelled) to the engine's journal, and a `pong` is sent once what it
 *   confirms is durable.
 *
 * @module
 */
import type {
  CtxView,
  FaceCallOptions,
  HookEdits,
  Operator,
  RequestJournal,
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
import type { RequestKind, RequestRecord } from "../protocol/runs.ts";
import type { SeatScope } from "../protocol/operators.ts";
import type { SeatStore } from "../store/seat_store.ts";
import type { Logger } from "../observe/log.ts";
import type { Metrics } from "../observe/metrics.ts";
import { spawnDirective, spawnDirectiveJson } from "./directive.ts";
import {
  aliasOf,
  answerOf,
  askFrame,
  hookAfterFrame,
  hookBeforeFrame,
  hookEditsOf,
  spawnFrame,
  spawnResult,
} from "./request_frames.ts";
import { checkReply, settlementOf } from "./reply_audit.ts";
import { requestRole } from "../observe/seat_counts.ts";
import { parseClientFrame } from "./parse_client_frame.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import { CLOSE } from "../protocol/frames.ts";
import { type BookEntry, RequestBook, requestKey } from "./request_book.ts";
import { SocketSlot } from "./socket_slot.ts";
import { answerPing, frameFailed, frameText } from "./client_frames.ts";

/** A spawn frame's directive key in its JSON text, and the book's empty one. */
const DIRECTIVE_KEY = '"directive":';
const EMPTY_DIRECTIVE = `${DIRECTIVE_KEY}""`;

/** What a session needs from its server. */
export interface SessionEnv {
  /** The seat store (seats.ts writes seats; a session itself writes nothing). */
  store: SeatStore;
  log: Logger;
  metrics: Metrics;
  /** Base URL written into spawn directives. */
  publicUrl: string;
  now(): number;
  /** Where requests of runs are recorded (the engine's run journal). */
  journal?: RequestJournal;
}

/** The persisted identity of a seat. */
export interface SeatIdentity {
  sid: string;
  tokenHash: string;
  roles: string[];
  createdAt: number;
  lastSeenAt: number;
  /** Where the roles count (absent: everywhere). */
  scope?: SeatScope;
  /** Free the seat this long after its socket closes (absent: never). */
  releaseAfterSecs?: number;
}

/** The abort reason of a nested ask whose spawn was settled or cancelled. */
export class ParentEnded extends Error {
  constructor() {
    super("the spawn of this ask has ended");
    this.name = "ParentEnded";
  }
}

/** The `cancel` reason and the rejection for an aborted wait. */
export function abortOutcome(reason: unknown): { cancel: CancelReason; error: unknown } {
  if (reason instanceof ParentEnded) return { cancel: "parent_ended", error: reason };
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
  readonly scope: SeatScope | undefined;
  readonly releaseAfterSecs: number | undefined;
  lastSeenAt: number;

  #env: SessionEnv;
  #slot = new SocketSlot();
  #book = new RequestBook();
  #closed = false;
  /** What the live socket declared with `?client=` (audit). */
  #client: string | null = null;
  /** Nested asks by the req_id of their spawn: aborted when the spawn ends. */
  #children?: Map<string, Set<AbortController>>;

  constructor(identity: SeatIdentity, env: SessionEnv) {
    this.sid = identity.sid;
    this.roles = [...identity.roles];
    this.tokenHash = identity.tokenHash;
    this.createdAt = identity.createdAt;
    this.lastSeenAt = identity.lastSeenAt;
    this.scope = identity.scope;
    this.releaseAfterSecs = identity.releaseAfterSecs;
    this.#env = env;
  }

  /** True while a socket is live. */
  get connected(): boolean {
    return this.#slot.connected;
  }

  /** True once the seat has been torn down. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Pending request frames in the order first sent. */
  pendingFrames(): RequestFrame[] {
    return [...this.#book.entries()].map((p) => this.#frameOf(p));
  }

  /** Pending request records in the order first sent (the inbox). */
  pendingRecords(): RequestRecord[] {
    return [...this.#book.entries()].map((p) => ({ ...p.record, frame: this.#frameOf(p) }));
  }

  /** Number of pending requests. */
  get pendingCount(): number {
    return this.#book.size;
  }

  /** Pending requests counted by kind (`ask`, `hb`, `spawn`). */
  pendingByKind(): Record<RequestKind, number> {
    return this.#book.countByKind();
  }

  // -------------------------------------------------------------------------
  // faces

  /** Senior bridge: sends `ask` and resolves with the answer's value. */
  async ask(taskId: string, question: Json, options: FaceCallOptions = {}): Promise<Json> {
    const reply = await this.#request(
      "ask",
      taskId,
      options.attempt ?? 1,
      options,
      (reqId) => askFrame(reqId, taskId, question, options),
    );
    return answerOf(reply);
  }

  /**
   * A nested ask: the worker of the pending spawn `parentReqId` asks this seat.
   * The ask carries the spawn's context and `parent_req_id`, and is cancelled
   * (`parent_ended`) when the spawn is settled or cancelled. Throws
   * `SwitchboardError` (`conflict`) when that spawn is not pending here.
   */
  askNested(
    parentReqId: string,
    question: Json,
    options: { schema?: Record<string, Json>; signal?: AbortSignal } = {},
  ): { reqId: string; answer: Promise<Json> } {
    const parent = this.#book.get(parentReqId)?.record;
    if (!parent || parent.kind !== "spawn") {
      throw new SwitchboardError("conflict", "the spawn of this task is not pending");
    }
    const child = this.#child(parentReqId);
    const signal = options.signal ? AbortSignal.any([child.signal, options.signal]) : child.signal;
    let reqId = "";
    const face: FaceCallOptions = {
      signal,
      runId: parent.run_id,
      attempt: parent.attempt,
      schema: options.schema,
      parentReqId,
      context: parent.frame.context,
      deadlineAt: parent.deadline_at,
      slot: `nested-${crypto.randomUUID()}`,
    };
    const answer = this.#request("ask", parent.task_id, parent.attempt, face, (id) => {
      reqId = id;
      const frame: RequestFrame = {
        type: "ask",
        req_id: id,
        task_id: parent.task_id,
        question,
        parent_req_id: parentReqId,
      };
      if (options.schema !== undefined) frame.schema = options.schema;
      if (parent.frame.context !== undefined) frame.context = parent.frame.context;
      return frame;
    }).then((reply) => reply.type === "answer" ? reply.value : null).finally(child.release);
    return { reqId, answer };
  }

  /**
   * Waits again for a nested ask of task `taskId` that nothing waits on (one
   * restored after a restart); undefined when `reqId` is no such ask here.
   */
  adoptNested(reqId: string, taskId: string): Promise<Json> | undefined {
    const entry = this.#book.get(reqId);
    const frame = entry?.record.frame;
    if (!entry || entry.waiter || frame?.type !== "ask" || entry.record.task_id !== taskId) {
      return undefined;
    }
    const parentReqId = frame.parent_req_id;
    if (parentReqId === undefined || !this.#book.get(parentReqId)) return undefined;
    const child = this.#child(parentReqId);
    const { promise, resolve, reject } = Promise.withResolvers<ReplyFrame>();
    entry.waiter = { resolve, reject };
    const onAbort = () => this.#abort(reqId, child.signal.reason);
    child.signal.addEventListener("abort", onAbort, { once: true });
    return promise.then((reply) => reply.type === "answer" ? reply.value : null).finally(() => {
      child.signal.removeEventListener("abort", onAbort);
      child.release();
    });
  }

  /** A signal that aborts (`ParentEnded`) when the request `parentReqId` ends. */
  #child(parentReqId: string): { signal: AbortSignal; release(): void } {
    const controller = new AbortController();
    const children = this.#children ??= new Map();
    let set = children.get(parentReqId);
    if (!set) children.set(parentReqId, set = new Set());
    set.add(controller);
    return {
      signal: controller.signal,
      release: () => {
        set.delete(controller);
        if (set.size === 0 && children.get(parentReqId) === set) children.delete(parentReqId);
      },
    };
  }

  /** The req_id of the pending spawn of an attempt of a run, if this seat holds one. */
  pendingSpawn(runId: string, taskId: string, attempt: number): string | undefined {
    return this.#book.find(requestKey(runId, taskId, attempt, "spawn"))?.record.req_id;
  }

  /**
   * Spawn hook: sends `hook_before`; a veto rejects with the operator's reason,
   * an approval with `input` resolves with that edit.
   */
  async before(ctx: CtxView, options: FaceCallOptions = {}): Promise<void | HookEdits> {
    const reply = await this.#request(
      "hb",
      ctx.taskId,
      ctx.attempt,
      { runId: ctx.runId, deadlineAt: ctx.deadlineAt, ...options },
      (reqId) => hookBeforeFrame(reqId, ctx),
    );
    return hookEditsOf(reply);
  }

  /** Spawn hook: sends `hook_after` if a socket is live, else counts a drop. */
  after(ctx: CtxView, result: Json): Promise<void> {
    const reqId = `${this.sid}-${REQUEST_KINDS.hook_after}-${crypto.randomUUID()}`;
    const frame: ServerFrame = hookAfterFrame(reqId, ctx, result);
    if (!this.#slot.send(frame)) this.#env.metrics.hookAfterDropped();
    return Promise.resolve();
  }

  /**
   * Operator: sends `spawn` and resolves with the ack's value and verdict. Not an
   * async function: a run parked on a spawn holds one promise here, no frame.
   */
  execute(
    ctx: CtxView,
    _system: string | null,
    _prompt: string,
    grant: WorkerGrant,
    signal: AbortSignal,
  ): Promise<WorkerResult> {
    const alias = aliasOf(ctx);
    return this.#request(
      "spawn",
      ctx.taskId,
      ctx.attempt,
      { runId: ctx.runId, signal, deadlineAt: ctx.deadlineAt },
      (reqId) => spawnFrame(reqId, ctx, grant, this.#directive(ctx.agent, ctx.taskId, alias)),
      alias,
    ).then(spawnResult);
  }

  // -------------------------------------------------------------------------
  // requests

  #request(
    kind: RequestKind,
    taskId: string,
    attempt: number,
    options: FaceCallOptions,
    build: (reqId: string) => RequestFrame,
    alias?: string,
  ): Promise<ReplyFrame> {
    if (this.#closed) return Promise.reject(new Error("operator session deleted"));
    const { signal, runId } = options;
    if (signal?.aborted) return Promise.reject(abortOutcome(signal.reason).error);

    const key = runId === undefined
      ? undefined
      : requestKey(runId, taskId, attempt, kind, options.slot);
    if (key !== undefined) {
      const settled = this.#book.takeSettled(runId!, key); // key is set only when runId is
      if (settled) return Promise.resolve(settled);
    }
    const existing = key === undefined ? undefined : this.#book.find(key);
    const entry = existing ?? this.#open(kind, taskId, attempt, options, build, alias);

    const { promise, resolve, reject } = Promise.withResolvers<ReplyFrame>();
    if (!signal) {
      entry.waiter = { resolve, reject };
      return promise;
    }
    const onAbort = () => this.#abort(entry.record.req_id, signal.reason);
    // No `{ once: true }`: the options object made adding and removing the listener
    // ten times dearer, and the listener goes as the wait ends, either way (#abort
    // rejects the waiter), with no extra promise a request.
    signal.addEventListener("abort", onAbort);
    entry.waiter = {
      resolve(reply) {
        signal.removeEventListener("abort", onAbort);
        resolve(reply);
      },
      reject(err) {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    };
    return promise;
  }

  #open(
    kind: RequestKind,
    taskId: string,
    attempt: number,
    options: FaceCallOptions,
    build: (reqId: string) => RequestFrame,
    alias: string | undefined,
  ): BookEntry {
    const runId = options.runId;
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
    if (options.role !== undefined) record.role = options.role;
    if (options.deadlineAt !== undefined) record.deadline_at = options.deadlineAt;
    if (options.slot !== undefined) record.slot = options.slot;
    const { frame } = record;
    // A spawn's directive is rendered again when sent: the book holds it without.
    const entry = frame.type === "spawn"
      ? this.#book.open({ ...record, frame: { ...frame, directive: "" } })
      : this.#book.open(record);
    if (frame.type === "spawn") entry.lazy = alias === undefined ? {} : { alias };
    this.#report(record);
    const delivered = this.#send(entry);
    this.#env.log.info("operator request sent", {
      sid: this.sid,
      req_id: reqId,
      kind: record.frame.type,
      run_id: runId,
      task_id: taskId,
      delivered,
    });
    return entry;
  }

  /** The frame of a pending request as sent. */
  #frameOf(entry: BookEntry): RequestFrame {
    const { frame } = entry.record;
    if (!entry.lazy || frame.type !== "spawn") return frame;
    return { ...frame, directive: this.#directive(frame.agent, frame.task_id, entry.lazy.alias) };
  }

  /**
   * Sends a pending request's frame. A spawn whose directive the book leaves out
   * goes as the book's frame text with the directive's ASCII JSON put in its
   * place: the same value once parsed, one byte a character (its `—` would make
   * the whole text two), and the directive string itself is not built again.
   */
  #send(entry: BookEntry): boolean {
    const { frame } = entry.record;
    if (!entry.lazy || frame.type !== "spawn" || frame.directive !== "") {
      return this.#slot.send(this.#frameOf(entry));
    }
    const text = JSON.stringify(frame);
    // the first `"directive":""` is the frame's own key: every field before it is a
    // plain value, and quotes inside strings are escaped
    const at = text.indexOf(EMPTY_DIRECTIVE);
    if (at < 0) return this.#slot.send(this.#frameOf(entry));
    const directive = spawnDirectiveJson({
      baseUrl: this.#env.publicUrl,
      agent: frame.agent,
      taskId: frame.task_id,
      alias: entry.lazy.alias,
    });
    return this.#slot.sendText(
      `${text.slice(0, at + DIRECTIVE_KEY.length)}${directive}${
        text.slice(at + EMPTY_DIRECTIVE.length)
      }`,
    );
  }

  #directive(agent: string, taskId: string, alias: string | undefined): string {
    return spawnDirective({ baseUrl: this.#env.publicUrl, agent, taskId, alias });
  }

  /**
   * The record of a request that leaves the book, in its new state. A spawn's
   * frame keeps the book's empty directive: nothing reads the frame of a settled
   * or cancelled request again (a restart re-sends only pending ones).
   */
  #recordOf(entry: BookEntry, state: RequestRecord["state"]): RequestRecord {
    return { ...entry.record, state };
  }

  /** Tells the engine's journal about a request of a run. */
  #report(record: RequestRecord): void {
    if (record.run_id !== undefined) this.#env.journal?.record(record);
  }

  /** A request is no longer pending: its nested asks end with it. */
  #ended(record: RequestRecord): void {
    const children = this.#children?.get(record.req_id);
    if (!children) return;
    this.#children!.delete(record.req_id); // `!`: children came from it
    for (const child of children) child.abort(new ParentEnded());
  }

  #abort(reqId: string, reason: unknown): void {
    const entry = this.#book.get(reqId);
    if (!entry) return;
    const { cancel, error } = abortOutcome(reason);
    this.#book.close(entry);
    this.#report({ ...this.#recordOf(entry, "cancelled"), cancelled: cancel });
    this.#ended(entry.record);
    this.#slot.send({ type: "cancel", req_id: reqId, reason: cancel });
    this.#env.log.info("operator request cancelled", {
      sid: this.sid,
      req_id: reqId,
      run_id: entry.record.run_id,
      reason: cancel,
    });
    entry.waiter?.reject(error);
  }

  #settle(reply: ReplyFrame): void {
    const open = this.#book.get(reply.req_id);
    if (open) checkReply(open.record.frame, reply); // an invalid answer leaves the ask pending
    const entry = this.#book.settle(reply);
    const { record } = entry;
    const now = this.#env.now();
    const seconds = Math.max(0, (now - record.sent_at) / 1000);
    this.#env.metrics.observeRoundtrip(record.frame.type, seconds);
    this.#env.metrics.observeRequestWait(record.frame.type, requestRole(record, this), seconds);
    const by = { sid: this.sid, roles: [...this.roles], client: this.#client };
    // Kept in the run's journal until the run ends, so a replay after a restart finds it.
    this.#report({
      ...this.#recordOf(entry, "settled"),
      reply,
      settled: settlementOf(reply, by, now),
    });
    this.#ended(record);
    this.#env.log.info("operator request settled", {
      sid: this.sid,
      req_id: record.req_id,
      kind: record.frame.type,
      run_id: record.run_id,
      task_id: record.task_id,
    });
    if (entry.waiter) entry.waiter.resolve(reply);
    else this.#book.keepSettled(record, reply);
  }

  /** Loads a request of a run recorded before a restart (pending ones wait for their run). */
  restore(record: RequestRecord): void {
    this.#book.restore(record);
  }

  /** Drops what the session remembers of a run that has ended. */
  forgetRun(runId: string): void {
    for (const entry of this.#book.forgetRun(runId)) {
      this.#slot.send({ type: "cancel", req_id: entry.record.req_id, reason: "run_ended" });
      this.#ended(entry.record);
    }
  }

  // -------------------------------------------------------------------------
  // sockets

  /** Makes `socket` the live socket (closing an older one) and replays pending frames. */
  attach(socket: WebSocket, client?: string): void {
    if (this.#closed) {
      socket.close(CLOSE.sessionDeleted, "session deleted");
      return;
    }
    const replaced = this.#slot.attach(socket);
    this.#client = client ?? null;
    this.lastSeenAt = this.#env.now();
    this.#env.log.info("operator socket connected", {
      sid: this.sid,
      replaced,
      pending: this.#book.size,
    });
    for (const entry of this.#book.entries()) this.#send(entry);
  }

  /** Called when `socket` closes; it detaches only if it is still the live one. */
  detach(socket: WebSocket, code?: number): void {
    if (!this.#slot.detach(socket)) return;
    this.lastSeenAt = this.#env.now();
    this.#env.log.info("operator socket closed", { sid: this.sid, code });
  }

  /** Handles one message from `socket`. Never throws. */
  receive(socket: WebSocket, data: unknown): void {
    const text = frameText(socket, data);
    if (text === undefined) return;
    this.lastSeenAt = this.#env.now();
    let reqId: string | undefined;
    try {
      const frame = parseClientFrame(text);
      if (frame.type === "ping") return answerPing(socket, this.#env.journal?.durable());
      reqId = frame.req_id;
      this.#settle(frame);
    } catch (err) {
      frameFailed(socket, err, reqId, this.#env.log, this.sid);
    }
  }

  /**
   * Tears the seat down: pending requests fail at once (`operator session deleted`,
   * or `operator session expired` for idle expiry) and a live socket gets 4001.
   */
  teardown(why: "deleted" | "expired" = "deleted"): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const entry of this.#book.clear()) {
      this.#report({ ...this.#recordOf(entry, "cancelled"), cancelled: "session_deleted" });
      this.#slot.send({ type: "cancel", req_id: entry.record.req_id, reason: "session_deleted" });
      entry.waiter?.reject(new Error(`operator session ${why}`));
    }
    this.#children = undefined;
    this.#slot.close(
      CLOSE.sessionDeleted,
      why === "expired" ? "session expired" : "session deleted",
    );
  }

  /** Closes a live socket with `code` (for example 1001 at shutdown). */
  closeSocket(code: number, reason: string): void {
    this.#slot.close(code, reason);
  }
}
