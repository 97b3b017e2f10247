/**
 * An operator seat in a cluster. Same faces and socket surface as
 * {@link OperatorSession} (it extends it so the seat table, routes and engine
 * take it unchanged), but its requests are rows shared by the cluster
 * (session/cluster_hub.ts):
 *
 * - a run on this instance opens a request and waits for it to settle,
 *   wherever the reply lands (session/cluster_seat_requests.ts);
 * - the instance holding the socket sends each pending row once per socket,
 *   replays them all on (re)connect, and settles rows with the replies it gets
 *   (at most once cluster-wide; a second reply gets an `error` frame);
 * - frames a client sends are handled one after another, so a `pong` is sent
 *   only after the replies before it are stored.
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
import {
  type CancelReason,
  CLOSE,
  type ReplyFrame,
  REQUEST_KINDS,
  type RequestFrame,
  type ServerFrame,
} from "../protocol/frames.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import type { RequestRow } from "../store/pg_requests.ts";
import type { RequestKind, RequestRecord } from "../protocol/runs.ts";
import { claimSocket, releaseSocket } from "../store/pg_seats.ts";
import type { Sql } from "../store/pg_sql.ts";
import type { ClusterHub, HubSeat } from "./cluster_hub.ts";
import { spawnDirective } from "./directive.ts";
import { seatRequests } from "./cluster_seat_requests.ts";
import { clusterNestedAsks } from "./cluster_nested_asks.ts";
import { OperatorSession, type SeatIdentity, type SessionEnv } from "./operator_session.ts";
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
import { checkReply } from "./reply_audit.ts";
import { requestRole } from "../observe/seat_counts.ts";
import { parseClientFrame } from "./parse_client_frame.ts";
import { sendOn } from "./socket_slot.ts";
import { answerPing, frameFailed, frameText } from "./client_frames.ts";

type Kind = RequestKind;

const REPLY_TYPE: Record<Kind, ReplyFrame["type"]> = {
  ask: "answer",
  hb: "hook_ack",
  spawn: "spawn_ack",
};

/** A seat of a cluster instance. */
export class ClusterSession extends OperatorSession implements HubSeat {
  #env: SessionEnv;
  #hub: ClusterHub;
  #sql: Sql;
  #socket: WebSocket | null = null;
  #socketEpoch = 0;
  /** req_ids sent on the current socket. */
  #sent = new Set<string>();
  #closed = false;
  #inbox: Promise<void> = Promise.resolve();
  /** What the socket held here declared with `?client=` (audit). */
  #client: string | null = null;
  /** Opens a request of a run through the hub and waits for its reply. */
  #request: ReturnType<typeof seatRequests>;
  /** Nested asks of the workers of this seat's spawns (session/cluster_nested_asks.ts). */
  #nested: ReturnType<typeof clusterNestedAsks>;

  constructor(identity: SeatIdentity, env: SessionEnv, hub: ClusterHub, sql: Sql) {
    super(identity, env);
    this.#env = env;
    this.#hub = hub;
    this.#sql = sql;
    // deno-lint-ignore no-this-alias
    const seat = this; // read live: its roles, whether it is closed or connected
    this.#request = seatRequests(
      {
        sid: this.sid,
        get roles() {
          return seat.roles;
        },
        get closed() {
          return seat.closed;
        },
        get connected() {
          return seat.connected;
        },
        client: () => this.#client,
      },
      env,
      hub,
    );
    this.#nested = clusterNestedAsks(this.sid, hub, this.#request);
  }

  override get connected(): boolean {
    return this.#socket !== null || Boolean(this.#hub.socketOf(this.sid)?.instance);
  }

  /** True while this instance holds the seat's socket. */
  get holdsSocket(): boolean {
    return this.#socket !== null;
  }

  override get closed(): boolean {
    return this.#closed;
  }

  override pendingFrames(): RequestFrame[] {
    return this.#hub.pendingOf(this.sid).map((r) => r.frame);
  }

  override get pendingCount(): number {
    return this.#hub.pendingOf(this.sid).length;
  }

  override pendingRecords(): RequestRecord[] {
    const out: RequestRecord[] = [];
    for (const row of this.#hub.pendingOf(this.sid)) {
      if (row.kind === "ha") continue;
      const { settled_by: _s, cancel_reason: _c, ...rest } = row;
      out.push({ ...rest, kind: row.kind, state: "pending" });
    }
    return out;
  }

  override pendingByKind(): Record<Kind, number> {
    const counts: Record<Kind, number> = { ask: 0, hb: 0, spawn: 0 };
    for (const r of this.#hub.pendingOf(this.sid)) if (r.kind !== "ha") counts[r.kind]++;
    return counts;
  }

  // -------------------------------------------------------------------------
  // faces (the run side)

  override async ask(taskId: string, question: Json, options: FaceCallOptions = {}) {
    const reply = await this.#request(
      "ask",
      taskId,
      options.attempt ?? 1,
      options,
      (reqId) => askFrame(reqId, taskId, question, options),
    );
    return answerOf(reply);
  }

  override async before(ctx: CtxView, options: FaceCallOptions = {}): Promise<void | HookEdits> {
    const reply = await this.#request(
      "hb",
      ctx.taskId,
      ctx.attempt,
      { runId: ctx.runId, deadlineAt: ctx.deadlineAt, ...options },
      (reqId) => hookBeforeFrame(reqId, ctx),
    );
    return hookEditsOf(reply);
  }

  override async after(ctx: CtxView, result: Json): Promise<void> {
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

  override async execute(
    ctx: CtxView,
    _system: string | null,
    _prompt: string,
    grant: WorkerGrant,
    signal: AbortSignal,
  ): Promise<WorkerResult> {
    const directive = spawnDirective({
      baseUrl: this.#env.publicUrl,
      agent: ctx.agent,
      taskId: ctx.taskId,
      alias: aliasOf(ctx),
    });
    // the run gives the spawn up: its nested asks end first (`parent_ended`)
    const onAbort = () => this.#nested.spawnAborted(ctx.runId, ctx.taskId, ctx.attempt);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const reply = await this.#request(
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

  override pendingSpawn(runId: string, taskId: string, attempt: number): string | undefined {
    return this.#nested.pendingSpawn(runId, taskId, attempt);
  }

  override askNested(
    parentReqId: string,
    question: Json,
    options: { schema?: Record<string, Json>; signal?: AbortSignal } = {},
  ): { reqId: string; answer: Promise<Json> } {
    return this.#nested.ask(parentReqId, question, options);
  }

  override adoptNested(reqId: string, taskId: string): Promise<Json> | undefined {
    return this.#nested.adopt(reqId, taskId);
  }

  /** A nested ask of this seat as stored (the worker routes' poll after a takeover). */
  storedNested(reqId: string, taskId: string): Promise<{ answer: Promise<Json> } | undefined> {
    return this.#nested.stored(reqId, taskId);
  }

  // -------------------------------------------------------------------------
  // the hub's news (the socket side)

  delivered(row: RequestRow): void {
    if (!this.#socket || this.#sent.has(row.req_id)) return;
    // a hook_after is sent once and never answered: nothing to remember
    if (this.#send(row.frame as ServerFrame) && row.kind !== "ha") this.#sent.add(row.req_id);
  }

  cancelled(reqId: string, reason: CancelReason): void {
    if (!this.#sent.delete(reqId)) return;
    this.#send({ type: "cancel", req_id: reqId, reason });
  }

  requestEnded(reqId: string): void {
    this.#nested.requestEnded(reqId);
  }

  socketMoved(instance: string | null, epoch: number): void {
    if (!this.#socket || epoch <= this.#socketEpoch) return;
    if (instance === this.#hub.instanceId) return;
    // a newer socket for this seat opened on another instance
    const old = this.#socket;
    this.#socket = null;
    this.#client = null;
    this.#sent.clear();
    closeQuietly(old, CLOSE.replaced, "replaced");
  }

  override restore(): void {
    // the hub reads request rows itself
  }

  override forgetRun(runId: string): void {
    this.#nested.runEnded(runId);
    this.#hub.forgetRun(runId);
  }

  // -------------------------------------------------------------------------
  // sockets

  override attach(socket: WebSocket, client?: string): void {
    if (this.#closed) {
      socket.close(CLOSE.sessionDeleted, "session deleted");
      return;
    }
    const old = this.#socket;
    this.#socket = socket;
    this.#client = client ?? null;
    this.#sent = new Set();
    this.lastSeenAt = this.#env.now();
    if (old && old !== socket) closeQuietly(old, CLOSE.replaced, "replaced");
    // take the seat's socket cluster-wide, then replay what is pending, in order
    this.#inbox = this.#inbox.then(async () => {
      const epoch = await claimSocket(this.#sql, this.sid, this.#hub.instanceId);
      if (epoch === undefined || this.#socket !== socket) return;
      this.#socketEpoch = epoch;
      this.#hub.socketWritten(this.sid, this.#hub.instanceId, epoch);
      await this.#hub.announceSocket(this.sid);
      const pending = this.#hub.pendingOf(this.sid);
      this.#env.log.info("operator socket connected", {
        sid: this.sid,
        replaced: old !== null,
        pending: pending.length,
      });
      for (const row of pending) this.delivered(row);
    }).catch((err) => {
      this.#env.log.error("operator socket claim failed", { sid: this.sid, error: String(err) });
    });
  }

  override detach(socket: WebSocket, code?: number): void {
    if (this.#socket !== socket) return;
    this.#socket = null;
    this.#client = null;
    this.#sent.clear();
    this.lastSeenAt = this.#env.now();
    this.#env.log.info("operator socket closed", { sid: this.sid, code });
    const epoch = this.#socketEpoch;
    this.#inbox = this.#inbox.then(async () => {
      await releaseSocket(this.#sql, this.sid, this.#hub.instanceId, epoch, this.lastSeenAt);
      await this.#hub.announceSocket(this.sid);
    }).catch(() => {});
  }

  override receive(socket: WebSocket, data: unknown): void {
    const text = frameText(socket, data);
    if (text === undefined) return;
    this.lastSeenAt = this.#env.now();
    this.#inbox = this.#inbox.then(() => this.#handle(socket, text));
  }

  async #handle(socket: WebSocket, data: string): Promise<void> {
    let reqId: string | undefined;
    try {
      const frame = parseClientFrame(data);
      // (a reply settled on this instance alone is written with its run's writes)
      if (frame.type === "ping") return answerPing(socket, this.#env.journal?.durable());
      reqId = frame.req_id;
      await this.#settle(frame);
    } catch (err) {
      frameFailed(socket, err, reqId, this.#env.log, this.sid);
    }
  }

  async #settle(reply: ReplyFrame): Promise<void> {
    const unknown = () =>
      new SwitchboardError("conflict", `unknown or already settled req_id: ${reply.req_id}`);
    const row = await this.#hub.find(reply.req_id);
    if (!row || row.sid !== this.sid || row.state !== "pending" || row.kind === "ha") {
      throw unknown();
    }
    const expected = REPLY_TYPE[row.kind];
    if (reply.type !== expected) {
      throw new SwitchboardError(
        "bad_request",
        `unexpected ${reply.type} reply to ${row.frame.type} (expected ${expected})`,
      );
    }
    checkReply(row.frame, reply); // an invalid answer leaves the ask pending
    const settled = await this.#hub.settle(row, reply);
    if (!settled) throw unknown();
    this.#sent.delete(reply.req_id);
    const seconds = Math.max(0, (this.#env.now() - row.sent_at) / 1000);
    this.#env.metrics.observeRoundtrip(row.frame.type, seconds);
    this.#env.metrics.observeRequestWait(row.frame.type, requestRole(row, this), seconds);
    this.#env.log.info("operator request settled", {
      sid: this.sid,
      req_id: row.req_id,
      kind: row.frame.type,
      run_id: row.run_id,
      task_id: row.task_id,
    });
  }

  override teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    const socket = this.#socket;
    this.#socket = null;
    for (const reqId of this.#sent) {
      if (socket) sendOn(socket, { type: "cancel", req_id: reqId, reason: "session_deleted" });
    }
    this.#sent.clear();
    if (socket) closeQuietly(socket, CLOSE.sessionDeleted, "session deleted");
  }

  override closeSocket(code: number, reason: string): void {
    const socket = this.#socket;
    this.#socket = null;
    if (socket) closeQuietly(socket, code, reason);
  }

  /** Resolves once the frames received so far are handled. */
  flush(): Promise<void> {
    return this.#inbox;
  }

  #send(frame: ServerFrame): boolean {
    return this.#socket !== null && sendOn(this.#socket, frame);
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
