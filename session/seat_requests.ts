/**
 * The requests of a single-server seat: opening one (or finding the one its run
 * already opened), sending its frame, settling it with the first valid reply,
 * cancelling it when its wait aborts, and reporting each step to the run's
 * journal. The seat's request book holds the state; its socket slot carries the
 * frames; the run waits on one promise a request, with no frame of its own.
 *
 * @module
 */
import type { FaceCallOptions } from "../engine/faces.ts";
import type { ReplyFrame, RequestFrame } from "../protocol/frames.ts";
import type { RequestKind, RequestRecord } from "../protocol/runs.ts";
import { abortOutcome } from "./abort_outcome.ts";
import { createNestedSignals, type NestedSignals, type SpawnOfAsks } from "./nested_signals.ts";
import { pendingFrame, sendPending } from "./pending_frames.ts";
import { checkReply, settledBy, settlementOf } from "./reply_audit.ts";
import { type BookEntry, RequestBook, requestKey } from "./request_book.ts";
import type { SessionEnv } from "./seat.ts";
import { requestCancelled, requestSent, requestSettled } from "./seat_log.ts";
import type { SocketSlot } from "./socket_slot.ts";

/** Requests sent by this process so far: each record's `seq` (its order within a millisecond). */
let sentSeq = 0;

/** The seat the requests belong to, read live. */
export interface RequestsSeat {
  readonly sid: string;
  readonly roles: readonly string[];
}

/** The pending and kept requests of one single-server seat. */
export class SeatRequests {
  #seat: RequestsSeat;
  #env: SessionEnv;
  #slot: SocketSlot;
  #book = new RequestBook();
  /** Answers whose check against their ask's schema has not ended (a `pong` waits for them). */
  #checking = new Set<Promise<void>>();
  #closed = false;
  /** Nested asks by the req_id of their spawn (made on the first one). */
  #children?: NestedSignals;

  constructor(seat: RequestsSeat, env: SessionEnv, slot: SocketSlot) {
    this.#seat = seat;
    this.#env = env;
    this.#slot = slot;
  }

  /** True once {@link close} ran: no request opens any more. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Number of pending requests. */
  get size(): number {
    return this.#book.size;
  }

  /** Pending requests counted by kind. */
  countByKind(): Record<RequestKind, number> {
    return this.#book.countByKind();
  }

  /** Pending request frames in the order first sent. */
  frames(): RequestFrame[] {
    return [...this.#book.entries()].map((p) => pendingFrame(p, this.#env.publicUrl));
  }

  /** Pending request records in the order first sent. */
  records(): RequestRecord[] {
    return [...this.#book.entries()].map((p) => ({
      ...p.record,
      frame: pendingFrame(p, this.#env.publicUrl),
    }));
  }

  /** The pending request of `reqId`. */
  get(reqId: string): BookEntry | undefined {
    return this.#book.get(reqId);
  }

  /** The pending request of a (run, task, attempt, kind) key. */
  find(key: string): BookEntry | undefined {
    return this.#book.find(key);
  }

  /** A signal that aborts (`ParentEnded`) when the request `parentReqId` ends. */
  child(parentReqId: string, spawn: SpawnOfAsks): { signal: AbortSignal; release(): void } {
    return (this.#children ??= createNestedSignals()).child(parentReqId, spawn);
  }

  /** Sends every pending frame again, in the order first sent (a new socket). */
  replay(): void {
    for (const entry of this.#book.entries()) sendPending(this.#slot, entry, this.#env.publicUrl);
  }

  /**
   * Opens a request of `kind` (or finds the one its run opened for this
   * attempt, or takes the reply kept for it) and resolves with its reply.
   */
  request(
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
    return this.wait(entry, signal);
  }

  /** The run's wait on a pending request; it is cancelled when `signal` aborts. */
  wait(entry: BookEntry, signal: AbortSignal | undefined): Promise<ReplyFrame> {
    const { promise, resolve, reject } = Promise.withResolvers<ReplyFrame>();
    if (!signal) {
      entry.waiter = { resolve, reject };
      return promise;
    }
    const onAbort = () => this.abort(entry.record.req_id, signal.reason);
    // No `{ once: true }`: the options object made adding and removing the listener
    // ten times dearer, and the listener goes as the wait ends, either way (abort
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
    const sid = this.#seat.sid;
    const reqId = `${sid}-${kind}-${crypto.randomUUID()}`;
    const record: RequestRecord = {
      req_id: reqId,
      sid,
      kind,
      task_id: taskId,
      attempt,
      frame: build(reqId),
      sent_at: this.#env.now(),
      seq: ++sentSeq,
      state: "pending",
    };
    if (options.runId !== undefined) record.run_id = options.runId;
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
    requestSent(this.#env, sid, record, sendPending(this.#slot, entry, this.#env.publicUrl));
    return entry;
  }

  /**
   * Tells the engine's journal about a request of a run. A spawn's frame in a
   * record that leaves the book keeps the book's empty directive: nothing reads
   * the frame of a settled or cancelled request again (a restart re-sends only
   * pending ones).
   */
  #report(record: RequestRecord): void {
    if (record.run_id !== undefined) this.#env.journal?.record(record);
  }

  /** Cancels a pending request whose wait aborted with `reason`. */
  abort(reqId: string, reason: unknown): void {
    const entry = this.#book.get(reqId);
    if (!entry) return;
    const { cancel, error } = abortOutcome(reason);
    this.#book.close(entry);
    this.#report({ ...entry.record, state: "cancelled", cancelled: cancel });
    this.#children?.end(reqId);
    this.#slot.send({ type: "cancel", req_id: reqId, reason: cancel });
    requestCancelled(this.#env, this.#seat.sid, entry.record, cancel);
    entry.waiter?.reject(error);
  }

  /**
   * Settles the request `reply` answers, by the socket's `client`. Throws
   * `SwitchboardError` for a reply that settles nothing (see RequestBook.settle)
   * or an answer its ask's schema refuses (the ask stays pending). An answer to
   * an ask with a schema is checked off the event loop: then it returns a promise,
   * and the request settles once the check passes (if it is still pending).
   */
  settle(reply: ReplyFrame, client: string | null): Promise<void> | undefined {
    const open = this.#book.get(reply.req_id);
    const checked = open && checkReply(open.record.frame, reply, this.#seat.sid);
    if (!checked) {
      this.#settle(reply, client);
      return undefined;
    }
    const settled = checked.then(() => this.#settle(reply, client));
    const done = () => this.#checking.delete(settled);
    this.#checking.add(settled);
    settled.then(done, done);
    return settled;
  }

  /**
   * Resolves once the answers received so far are checked and settled (or
   * refused): what a `pong` waits for before it confirms them. Undefined when
   * none is being checked.
   */
  checked(): Promise<void> | undefined {
    if (this.#checking.size === 0) return undefined;
    return Promise.allSettled(this.#checking).then(() => {});
  }

  #settle(reply: ReplyFrame, client: string | null): void {
    const entry = this.#book.settle(reply);
    const { record } = entry;
    const now = this.#env.now();
    // Kept in the run's journal until the run ends, so a replay after a restart finds it.
    this.#report({
      ...record,
      state: "settled",
      reply,
      settled: settlementOf(reply, settledBy(this.#seat, client), now),
    });
    this.#children?.end(record.req_id);
    requestSettled(this.#env, this.#seat, record, now);
    if (entry.waiter) entry.waiter.resolve(reply);
    else this.#book.keepSettled(record, reply);
  }

  /** Loads a request of a run recorded before a restart (pending ones wait for their run). */
  restore(record: RequestRecord): void {
    this.#book.restore(record);
  }

  /** Drops what the book holds of a run that has ended; cancels its unwaited requests. */
  forgetRun(runId: string): void {
    for (const entry of this.#book.forgetRun(runId)) {
      this.#slot.send({ type: "cancel", req_id: entry.record.req_id, reason: "run_ended" });
      this.#children?.end(entry.record.req_id);
    }
  }

  /**
   * Fails every pending request and opens no new one: `operator session deleted`,
   * for idle expiry too (SPEC §3: it does what DELETE does), which is named.
   */
  close(why: "deleted" | "expired"): void {
    const error = why === "expired"
      ? "operator session deleted (idle expiry)"
      : "operator session deleted";
    this.#closed = true;
    for (const entry of this.#book.clear()) {
      this.#report({ ...entry.record, state: "cancelled", cancelled: "session_deleted" });
      this.#slot.send({ type: "cancel", req_id: entry.record.req_id, reason: "session_deleted" });
      entry.waiter?.reject(new Error(error));
    }
    this.#children = undefined;
  }
}
