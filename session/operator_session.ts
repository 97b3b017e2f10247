/**
 * The single-server seat: it implements the seat interface (session/seat.ts)
 * over its requests (session/seat_requests.ts, a request book of plain maps)
 * and a socket slot (session/socket_slot.ts), so the engine asks, gates and
 * delegates through it without knowing about sockets.
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
 * A class rather than a closure: a process holds up to 100,000 seats, and
 * methods on a prototype cost an idle seat nothing (a closure each would cost
 * about 2 KiB a seat).
 *
 * @module
 */
import type {
  CtxView,
  FaceCallOptions,
  HookEdits,
  WorkerGrant,
  WorkerResult,
} from "../engine/faces.ts";
import type { Json } from "../protocol/json.ts";
import { CLOSE, REQUEST_KINDS, type RequestFrame, type ServerFrame } from "../protocol/frames.ts";
import type { RequestKind, RequestRecord } from "../protocol/runs.ts";
import type { SeatScope } from "../protocol/operators.ts";
import { aliasOf, hookAfterFrame, spawnFrame, spawnResult } from "./request_frames.ts";
import { parseClientFrame } from "./parse_client_frame.ts";
import { SocketSlot } from "./socket_slot.ts";
import { answerPing, frameFailed, frameText } from "./client_frames.ts";
import { directiveOf } from "./pending_frames.ts";
import type { NestedAskOptions, Seat, SeatIdentity, SessionEnv } from "./seat.ts";
import { askVia, beforeVia } from "./seat_faces.ts";
import { adoptNested, askNested, pendingSpawn } from "./seat_nested_asks.ts";
import { SeatRequests } from "./seat_requests.ts";

/** A seat of a single server. */
export class OperatorSession implements Seat {
  readonly sid: string;
  readonly roles: readonly string[];
  readonly tokenHash: string;
  readonly createdAt: number;
  readonly scope: SeatScope | undefined;
  readonly releaseAfterSecs: number | undefined;
  lastSeenAt: number;

  #env: SessionEnv;
  #slot = new SocketSlot();
  #requests: SeatRequests;
  /** What the live socket declared with `?client=` (audit). */
  #client: string | null = null;

  constructor(identity: SeatIdentity, env: SessionEnv) {
    this.sid = identity.sid;
    this.roles = [...identity.roles];
    this.tokenHash = identity.tokenHash;
    this.createdAt = identity.createdAt;
    this.lastSeenAt = identity.lastSeenAt;
    this.scope = identity.scope;
    this.releaseAfterSecs = identity.releaseAfterSecs;
    this.#env = env;
    this.#requests = new SeatRequests(this, env, this.#slot);
  }

  get connected(): boolean {
    return this.#slot.connected;
  }

  get closed(): boolean {
    return this.#requests.closed;
  }

  // -------------------------------------------------------------------------
  // what is pending

  pendingFrames(): RequestFrame[] {
    return this.#requests.frames();
  }

  pendingRecords(): RequestRecord[] {
    return this.#requests.records();
  }

  get pendingCount(): number {
    return this.#requests.size;
  }

  pendingByKind(): Record<RequestKind, number> {
    return this.#requests.countByKind();
  }

  // -------------------------------------------------------------------------
  // faces

  /** Senior bridge: sends `ask` and resolves with the answer's value. */
  ask(taskId: string, question: Json, options: FaceCallOptions = {}): Promise<Json> {
    return askVia(this.#requests, taskId, question, options);
  }

  /** Spawn hook: sends `hook_before` (a veto rejects, an approval may edit the input). */
  before(ctx: CtxView, options: FaceCallOptions = {}): Promise<void | HookEdits> {
    return beforeVia(this.#requests, ctx, options);
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
    const url = this.#env.publicUrl;
    return this.#requests.request(
      "spawn",
      ctx.taskId,
      ctx.attempt,
      { runId: ctx.runId, signal, deadlineAt: ctx.deadlineAt },
      (reqId) => spawnFrame(reqId, ctx, grant, directiveOf(url, ctx.agent, ctx.taskId, alias)),
      alias,
    ).then(spawnResult);
  }

  // -------------------------------------------------------------------------
  // nested asks

  pendingSpawn(runId: string, taskId: string, attempt: number): string | undefined {
    return pendingSpawn(this.#requests, runId, taskId, attempt);
  }

  askNested(
    parentReqId: string,
    question: Json,
    options: NestedAskOptions = {},
  ): { reqId: string; answer: Promise<Json> } {
    return askNested(this.#requests, parentReqId, question, options);
  }

  adoptNested(reqId: string, taskId: string): Promise<Json> | undefined {
    return adoptNested(this.#requests, reqId, taskId);
  }

  // -------------------------------------------------------------------------
  // the requests of runs

  /** Loads a request of a run recorded before a restart (pending ones wait for their run). */
  restore(record: RequestRecord): void {
    this.#requests.restore(record);
  }

  forgetRun(runId: string): void {
    this.#requests.forgetRun(runId);
  }

  // -------------------------------------------------------------------------
  // the socket

  attach(socket: WebSocket, client?: string): void {
    if (this.closed) {
      socket.close(CLOSE.sessionDeleted, "session deleted");
      return;
    }
    const replaced = this.#slot.attach(socket);
    this.#client = client ?? null;
    this.lastSeenAt = this.#env.now();
    this.#env.log.info("operator socket connected", {
      sid: this.sid,
      replaced,
      pending: this.#requests.size,
    });
    this.#requests.replay();
  }

  detach(socket: WebSocket, code?: number): void {
    const held = this.#slot.detach(socket);
    // every close is logged; `held: false` for one that no longer held the seat
    // (replaced 4000, or the seat deleted 4001 before it)
    this.#env.log.info("operator socket closed", { sid: this.sid, code, held });
    if (held) this.lastSeenAt = this.#env.now();
  }

  receive(socket: WebSocket, data: unknown): void {
    const text = frameText(socket, data);
    if (text === undefined) return;
    this.lastSeenAt = this.#env.now();
    let reqId: string | undefined;
    try {
      const frame = parseClientFrame(text);
      if (frame.type === "ping") {
        // the answers before it are confirmed once checked against their schemas
        const checked = this.#requests.checked();
        const durable = () => this.#env.journal?.durable() ?? Promise.resolve();
        return answerPing(socket, checked ? checked.then(durable) : this.#env.journal?.durable());
      }
      reqId = frame.req_id;
      const id = reqId;
      this.#requests.settle(frame, this.#client)?.catch((err) =>
        frameFailed(socket, err, id, this.#env.log, this.sid)
      );
    } catch (err) {
      frameFailed(socket, err, reqId, this.#env.log, this.sid);
    }
  }

  /**
   * Tears the seat down: pending requests fail at once (`operator session deleted`,
   * with `(idle expiry)` after it for idle expiry) and a live socket gets 4001.
   */
  teardown(why: "deleted" | "expired" = "deleted"): void {
    if (this.closed) return;
    this.#requests.close(why);
    this.#slot.close(
      CLOSE.sessionDeleted,
      why === "expired" ? "session expired" : "session deleted",
    );
  }

  closeSocket(code: number, reason: string): void {
    this.#slot.close(code, reason);
  }
}
