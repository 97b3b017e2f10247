/**
 * The one seat interface: what the seat table (session/seats.ts), the routes,
 * the WebSocket adapter and the engine use of an operator seat, whichever kind
 * it is. Two kinds implement it, side by side:
 *
 * - the single-server seat (session/operator_session.ts), whose requests live
 *   in its own request book;
 * - a cluster instance's seat (session/cluster_seat.ts), whose requests are
 *   rows shared by the cluster.
 *
 * Also what a seat is made of: its identity and its server's env.
 *
 * @module
 */
import type { RequestJournal, SeatFace } from "../engine/faces.ts";
import type { RequestFrame } from "../protocol/frames.ts";
import type { Json } from "../protocol/json.ts";
import type { SeatScope } from "../protocol/operators.ts";
import type { RequestKind, RequestRecord } from "../protocol/runs.ts";
import type { Logger } from "../observe/log.ts";
import type { Metrics } from "../observe/metrics.ts";
import type { SeatStore } from "../store/seat_store.ts";

/** What a seat needs from its server. */
export interface SessionEnv {
  /** The seat store (seats.ts writes seats; a seat itself writes nothing). */
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

/** Options of a nested ask ({@link Seat.askNested}). */
export interface NestedAskOptions {
  schema?: Record<string, Json>;
  signal?: AbortSignal;
}

/** An operator seat: the engine's three faces, a socket, and its pending requests. */
export interface Seat extends SeatFace {
  readonly sid: string;
  readonly roles: readonly string[];
  readonly tokenHash: string;
  readonly createdAt: number;
  readonly scope: SeatScope | undefined;
  readonly releaseAfterSecs: number | undefined;
  /** The seat's last activity (the idle sweep and the seat store read it). */
  lastSeenAt: number;
  /** True while a socket is live. */
  readonly connected: boolean;
  /** True once the seat has been torn down. */
  readonly closed: boolean;

  // what is pending (GET /v1/operators, the inbox, /v1/doctor and the metrics)
  /** Number of pending requests. */
  readonly pendingCount: number;
  /** Pending requests counted by kind (`ask`, `hb`, `spawn`). */
  pendingByKind(): Record<RequestKind, number>;
  /** Pending request frames in the order first sent. */
  pendingFrames(): RequestFrame[];
  /** Pending request records in the order first sent (the inbox). */
  pendingRecords(): RequestRecord[];

  // nested asks (routes/worker_ask.ts)
  /** The req_id of the pending spawn of an attempt of a run, if this seat holds one. */
  pendingSpawn(runId: string, taskId: string, attempt: number): string | undefined;
  /**
   * A nested ask: the worker of the pending spawn `parentReqId` asks this seat.
   * Cancelled (`parent_ended`) when that spawn ends. Throws `SwitchboardError`
   * (`conflict`) when the spawn is not pending here.
   */
  askNested(
    parentReqId: string,
    question: Json,
    options?: NestedAskOptions,
  ): { reqId: string; answer: Promise<Json> };
  /** Waits again for a nested ask nothing waits on; undefined when `reqId` is no such ask. */
  adoptNested(reqId: string, taskId: string): Promise<Json> | undefined;
  /** A nested ask as stored, also once ended (a cluster seat: a row outlives its waiter). */
  storedNested?(reqId: string, taskId: string): Promise<{ answer: Promise<Json> } | undefined>;

  // the requests of runs
  /** Loads a request of a run recorded before a restart. */
  restore(record: RequestRecord): void;
  /** Drops what the seat remembers of a run that has ended. */
  forgetRun(runId: string): void;

  // the socket (session/ws.ts) and the seat's end
  /** Makes `socket` the live socket (closing an older one) and replays pending frames. */
  attach(socket: WebSocket, client?: string): void;
  /** Called when `socket` closes; it detaches only if it is still the live one. */
  detach(socket: WebSocket, code?: number): void;
  /** Handles one message from `socket`. Never throws. */
  receive(socket: WebSocket, data: unknown): void;
  /** Tears the seat down: pending requests fail and a live socket gets 4001. */
  teardown(why?: "deleted" | "expired"): void;
  /** Closes a live socket with `code` (for example 1001 at shutdown). */
  closeSocket(code: number, reason: string): void;
}
