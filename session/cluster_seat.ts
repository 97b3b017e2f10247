/**
 * An operator seat in a cluster. It implements the same seat interface as the
 * single-server seat (session/seat.ts), so the seat table, routes and engine
 * take either, but its requests are rows shared by the cluster
 * (session/cluster_hub.ts). It is made of:
 *
 * - its requests (session/cluster_seat_requests.ts): a run on this instance
 *   opens one and waits for it to settle, wherever the reply lands;
 * - its socket side (session/cluster_seat_socket.ts): the instance holding the
 *   socket sends each pending row once per socket, replays them all on
 *   (re)connect, and settles rows with the replies it gets;
 * - its nested asks (session/cluster_nested_asks.ts).
 *
 * A class for the same reason as the single-server seat: methods on a
 * prototype cost a seat nothing.
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
import { type CancelReason, CLOSE, REQUEST_KINDS, type RequestFrame } from "../protocol/frames.ts";
import type { SeatScope } from "../protocol/operators.ts";
import type { RequestKind, RequestRecord } from "../protocol/runs.ts";
import type { RequestRow } from "../store/pg_requests.ts";
import type { Sql } from "../store/pg_sql.ts";
import type { ClusterHub } from "./cluster_hub.ts";
import type { HubSeat } from "./hub_seat.ts";
import { clusterNestedAsks } from "./cluster_nested_asks.ts";
import { countByKind, pendingRecordsOf } from "./cluster_pending.ts";
import { type ClusterRequests, clusterSeatRequests } from "./cluster_seat_requests.ts";
import { ClusterSeatSocket } from "./cluster_seat_socket.ts";
import { directiveOf } from "./pending_frames.ts";
import { aliasOf, hookAfterFrame, spawnFrame, spawnResult } from "./request_frames.ts";
import type { NestedAskOptions, Seat, SeatIdentity, SessionEnv } from "./seat.ts";
import { askVia, beforeVia } from "./seat_faces.ts";

/** A seat of a cluster instance. */
export class ClusterSeat implements Seat, HubSeat {
  readonly sid: string;
  readonly roles: readonly string[];
  readonly tokenHash: string;
  readonly createdAt: number;
  readonly scope: SeatScope | undefined;
  readonly releaseAfterSecs: number | undefined;
  lastSeenAt: number;

  #env: SessionEnv;
  #hub: ClusterHub;
  #closed = false;
  #socket: ClusterSeatSocket;
  #requests: ClusterRequests;
  #nested: ReturnType<typeof clusterNestedAsks>;

  constructor(identity: SeatIdentity, env: SessionEnv, hub: ClusterHub, sql: Sql) {
    this.sid = identity.sid;
    this.roles = [...identity.roles];
    this.tokenHash = identity.tokenHash;
    this.createdAt = identity.createdAt;
    this.lastSeenAt = identity.lastSeenAt;
    this.scope = identity.scope;
    this.releaseAfterSecs = identity.releaseAfterSecs;
    this.#env = env;
    this.#hub = hub;
    this.#socket = new ClusterSeatSocket(this, env, hub, sql);
    this.#requests = clusterSeatRequests(this, env, hub);
    this.#nested = clusterNestedAsks(this.sid, hub, this.#requests);
  }

  /** True while a socket is live on this instance or another. */
  get connected(): boolean {
    return this.#socket.held || Boolean(this.#hub.socketOf(this.sid)?.instance);
  }

  /** True while this instance holds the seat's socket. */
  get holdsSocket(): boolean {
    return this.#socket.held;
  }

  /** What the socket held here declared with `?client=` (the audit), if any. */
  get client(): string | null {
    return this.#socket.client;
  }

  get closed(): boolean {
    return this.#closed;
  }

  // -------------------------------------------------------------------------
  // what is pending, cluster-wide

  pendingFrames(): RequestFrame[] {
    return this.#hub.pendingOf(this.sid).map((r) => r.frame);
  }

  get pendingCount(): number {
    return this.#hub.pendingOf(this.sid).length;
  }

  pendingRecords(): RequestRecord[] {
    return pendingRecordsOf(this.#hub.pendingOf(this.sid));
  }

  pendingByKind(): Record<RequestKind, number> {
    return countByKind(this.#hub.pendingOf(this.sid));
  }

  // -------------------------------------------------------------------------
  // faces (the run side)

  ask(taskId: string, question: Json, options: FaceCallOptions = {}): Promise<Json> {
    return askVia(this.#requests, taskId, question, options);
  }

  before(ctx: CtxView, options: FaceCallOptions = {}): Promise<void | HookEdits> {
    return beforeVia(this.#requests, ctx, options);
  }

  /** Sends `hook_after` through whichever instance holds the socket, else counts a drop. */
  async after(ctx: CtxView, result: Json): Promise<void> {
    const reqId = `${this.sid}-${REQUEST_KINDS.hook_after}-${crypto.randomUUID()}`;
    const frame = hookAfterFrame(reqId, ctx, result);
    const sent = await this.#hub.after({
      req_id: reqId,
      sid: this.sid,
      kind: "ha",
      run_id: ctx.runId,
      task_id: ctx.taskId,
      attempt: ctx.attempt,
      // deno-lint-ignore no-explicit-any
      frame: frame as any, // a hook_after rides in the request table until sent
      sent_at: this.#env.now(),
    }).catch((err) => {
      this.#env.log.error("hook_after not sent", { sid: this.sid, error: String(err) });
      return false;
    });
    if (!sent) this.#env.metrics.hookAfterDropped();
  }

  async execute(
    ctx: CtxView,
    _system: string | null,
    _prompt: string,
    grant: WorkerGrant,
    signal: AbortSignal,
  ): Promise<WorkerResult> {
    const directive = directiveOf(this.#env.publicUrl, ctx.agent, ctx.taskId, aliasOf(ctx));
    // the run gives the spawn up: its nested asks end first (`parent_ended`)
    const onAbort = () => this.#nested.spawnAborted(ctx.runId, ctx.taskId, ctx.attempt);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const reply = await this.#requests.request(
        "spawn",
        ctx.taskId,
        ctx.attempt,
        { runId: ctx.runId, signal, deadlineAt: ctx.deadlineAt },
        (reqId) => spawnFrame(reqId, ctx, grant, directive),
      );
      return spawnResult(reply);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  // -------------------------------------------------------------------------
  // nested asks

  pendingSpawn(runId: string, taskId: string, attempt: number): string | undefined {
    return this.#nested.pendingSpawn(runId, taskId, attempt);
  }

  askNested(
    parentReqId: string,
    question: Json,
    options: NestedAskOptions = {},
  ): { reqId: string; answer: Promise<Json> } {
    return this.#nested.ask(parentReqId, question, options);
  }

  adoptNested(reqId: string, taskId: string): Promise<Json> | undefined {
    return this.#nested.adopt(reqId, taskId);
  }

  /** A nested ask of this seat as stored (the worker routes' poll after a takeover). */
  storedNested(reqId: string, taskId: string): Promise<{ answer: Promise<Json> } | undefined> {
    return this.#nested.stored(reqId, taskId);
  }

  // -------------------------------------------------------------------------
  // the hub's news

  delivered(row: RequestRow): void {
    this.#socket.delivered(row);
  }

  cancelled(reqId: string, reason: CancelReason): void {
    this.#socket.cancelled(reqId, reason);
  }

  requestEnded(reqId: string): void {
    this.#nested.requestEnded(reqId);
  }

  socketMoved(instance: string | null, epoch: number): void {
    this.#socket.moved(instance, epoch);
  }

  /** Nothing to do: the hub reads request rows itself. */
  restore(): void {}

  forgetRun(runId: string): void {
    this.#nested.runEnded(runId);
    this.#hub.forgetRun(runId);
  }

  // -------------------------------------------------------------------------
  // the socket

  attach(socket: WebSocket, client?: string): void {
    if (this.#closed) {
      socket.close(CLOSE.sessionDeleted, "session deleted");
      return;
    }
    this.#socket.attach(socket, client);
  }

  detach(socket: WebSocket, code?: number): void {
    this.#socket.detach(socket, code);
  }

  receive(socket: WebSocket, data: unknown): void {
    this.#socket.receive(socket, data);
  }

  teardown(why: "deleted" | "expired" = "deleted"): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#hub.seatDeleted(this.sid, why === "expired");
    this.#socket.teardown();
  }

  closeSocket(code: number, reason: string): void {
    this.#socket.close(code, reason);
  }
}
