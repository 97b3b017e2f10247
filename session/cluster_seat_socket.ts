/**
 * The socket side of a cluster seat, on the instance that holds its socket:
 *
 * - on (re)connect it takes the seat's socket cluster-wide (a newer epoch),
 *   then replays every pending row, in order;
 * - it sends each pending row once per socket, and a `cancel` for one it sent
 *   that ended without a reply;
 * - it handles the frames a client sends one after another, so a `pong` is
 *   sent only after the replies before it are stored, and settles a reply at
 *   most once cluster-wide (a second one gets an `error` frame);
 * - it closes its socket as replaced when a newer one opens elsewhere.
 *
 * @module
 */
import { type CancelReason, CLOSE, type ReplyFrame, type ServerFrame } from "../protocol/frames.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import type { RequestRow } from "../store/pg_requests.ts";
import { claimSocket, giveSocketBack, releaseSocket } from "../store/pg_seats.ts";
import type { Sql } from "../store/pg_sql.ts";
import type { ClusterHub } from "./cluster_hub.ts";
import { answerPing, frameFailed, frameText } from "./client_frames.ts";
import { parseClientFrame } from "./parse_client_frame.ts";
import { checkReply } from "./reply_audit.ts";
import { REPLY_TYPE } from "./request_book.ts";
import type { SessionEnv } from "./seat.ts";
import { requestSettled } from "./seat_log.ts";
import { SocketSlot } from "./socket_slot.ts";

/** The seat a socket side serves, read and written live. */
export interface SocketSeat {
  readonly sid: string;
  readonly roles: readonly string[];
  /** Set on every socket event (the idle sweep reads it). */
  lastSeenAt: number;
}

/** The socket of one cluster seat, as this instance holds it. */
export class ClusterSeatSocket {
  #seat: SocketSeat;
  #env: SessionEnv;
  #hub: ClusterHub;
  #sql: Sql;
  #slot = new SocketSlot();
  #epoch = 0;
  /** Sockets attached here whose claim cluster-wide is not done yet. */
  #claiming = 0;
  /** req_ids sent on the current socket. */
  #sent = new Set<string>();
  /** req_ids whose reply is being settled, with a cancel that came meanwhile. */
  #settling = new Map<string, CancelReason | undefined>();
  #inbox: Promise<void> = Promise.resolve();
  /** What the socket held here declared with `?client=` (audit). */
  #client: string | null = null;

  constructor(seat: SocketSeat, env: SessionEnv, hub: ClusterHub, sql: Sql) {
    this.#seat = seat;
    this.#env = env;
    this.#hub = hub;
    this.#sql = sql;
  }

  /** True while this instance holds the seat's socket. */
  get held(): boolean {
    return this.#slot.connected;
  }

  /** What the socket held here declared with `?client=`, if any. */
  get client(): string | null {
    return this.#client;
  }

  /** Makes `socket` the live one here, takes it cluster-wide and replays what is pending. */
  attach(socket: WebSocket, client?: string): void {
    const sid = this.#seat.sid;
    const hub = this.#hub;
    const replaced = this.#slot.attach(socket);
    this.#client = client ?? null;
    this.#sent = new Set();
    this.#seat.lastSeenAt = this.#env.now();
    this.#claiming++;
    this.#inbox = this.#inbox.then(async () => {
      // a socket that closes while it is claimed rolls its claim back: a newer socket
      // elsewhere must never read a claim of a socket that is gone
      const live = () => this.#slot.holds(socket) && socket.readyState === WebSocket.OPEN;
      const claim = await claimSocket(this.#sql, sid, hub.instanceId, live).finally(() => {
        this.#claiming--;
      });
      if (claim === undefined) return;
      const { epoch, previous } = claim;
      if (!this.#slot.holds(socket)) {
        // it closed between the check and the commit: the seat goes back to where it was
        // (a newer socket elsewhere keeps it); one replaced here is claimed next
        if (this.#slot.connected) return;
        const back = previous === hub.instanceId ? null : previous;
        await giveSocketBack(this.#sql, sid, hub.instanceId, epoch, back);
        await hub.announceSocket(sid);
        return;
      }
      this.#epoch = epoch;
      hub.socketWritten(sid, hub.instanceId, epoch);
      // a newer socket elsewhere, read while this one was being claimed
      const holder = hub.socketOf(sid);
      if (holder && holder.epoch > epoch) this.moved(holder.instance, holder.epoch);
      if (!this.#slot.holds(socket)) return;
      await hub.announceSocket(sid);
      const pending = hub.pendingOf(sid);
      this.#env.log.info("operator socket connected", {
        sid,
        replaced,
        pending: pending.length,
      });
      for (const row of pending) this.delivered(row);
    }).catch((err) => {
      this.#env.log.error("operator socket claim failed", { sid, error: String(err) });
    });
  }

  /** Called when `socket` closes: releases the seat's socket if it still held it. */
  detach(socket: WebSocket, code?: number): void {
    const seat = this.#seat;
    const held = this.#slot.detach(socket);
    // every close is logged; `held: false` for one that no longer held the seat
    this.#env.log.info("operator socket closed", { sid: seat.sid, code, held });
    if (!held) return;
    this.#client = null;
    this.#sent.clear();
    seat.lastSeenAt = this.#env.now();
    const epoch = this.#epoch;
    const hub = this.#hub;
    this.#inbox = this.#inbox.then(async () => {
      await releaseSocket(this.#sql, seat.sid, hub.instanceId, epoch, seat.lastSeenAt);
      await hub.announceSocket(seat.sid);
    }).catch(() => {});
  }

  /** Queues one message from `socket` behind the ones before it. Never throws. */
  receive(socket: WebSocket, data: unknown): void {
    const text = frameText(socket, data);
    if (text === undefined) return;
    this.#seat.lastSeenAt = this.#env.now();
    this.#inbox = this.#inbox.then(() => this.#handle(socket, text));
  }

  /** A pending row of this seat: sent once per socket (a hook_after is never answered). */
  delivered(row: RequestRow): void {
    if (!this.#slot.connected || this.#sent.has(row.req_id)) return;
    if (this.#slot.send(row.frame as ServerFrame) && row.kind !== "ha") this.#sent.add(row.req_id);
  }

  /** A request sent on this socket ended without a reply. */
  cancelled(reqId: string, reason: CancelReason): void {
    if (this.#settling.has(reqId)) {
      // a reply to it is being settled: its run may have ended on the settle's news
      // before the settle returned here; the cancel goes out only if the reply lost
      this.#settling.set(reqId, reason);
      return;
    }
    if (!this.#sent.delete(reqId)) return;
    this.#slot.send({ type: "cancel", req_id: reqId, reason });
  }

  /** The seat's socket moved to `instance` at `epoch`: an older socket here closes. */
  moved(instance: string | null, epoch: number): void {
    // while a new socket here is being claimed, what is read is older than its claim
    // (the last socket's release, say): the claim checks for newer ones when done
    if (this.#claiming > 0 || epoch <= this.#epoch) return;
    if (instance === this.#hub.instanceId) return this.#handedBack(epoch);
    if (!this.#slot.connected) return;
    this.#client = null;
    this.#sent.clear();
    this.#slot.close(CLOSE.replaced, "replaced");
  }

  /**
   * The seat's socket was given back here at `epoch` (a claim elsewhere landed
   * after its socket had closed): the socket here holds it at that epoch, or,
   * gone meanwhile, lets it go.
   */
  #handedBack(epoch: number): void {
    this.#epoch = epoch;
    if (this.#slot.connected) return;
    const seat = this.#seat;
    const hub = this.#hub;
    this.#inbox = this.#inbox.then(async () => {
      await releaseSocket(this.#sql, seat.sid, hub.instanceId, epoch, seat.lastSeenAt);
      await hub.announceSocket(seat.sid);
    }).catch(() => {});
  }

  /** The seat is gone: `cancel` what was sent here and close the socket with 4001. */
  teardown(): void {
    for (const reqId of this.#sent) {
      this.#slot.send({ type: "cancel", req_id: reqId, reason: "session_deleted" });
    }
    this.#sent.clear();
    this.#slot.close(CLOSE.sessionDeleted, "session deleted");
  }

  /** Closes the socket held here with `code`. */
  close(code: number, reason: string): void {
    this.#slot.close(code, reason);
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
      frameFailed(socket, err, reqId, this.#env.log, this.#seat.sid);
    }
  }

  async #settle(reply: ReplyFrame): Promise<void> {
    const sid = this.#seat.sid;
    const unknown = () =>
      new SwitchboardError("conflict", `unknown or already settled req_id: ${reply.req_id}`);
    // a req_id of this seat not read here yet may be on its way (its row is being written)
    const row = reply.req_id.startsWith(`${sid}-`)
      ? await this.#hub.findSoon(reply.req_id)
      : await this.#hub.find(reply.req_id);
    if (!row || row.sid !== sid || row.state !== "pending" || row.kind === "ha") {
      throw unknown();
    }
    const expected = REPLY_TYPE[row.kind];
    if (reply.type !== expected) {
      throw new SwitchboardError(
        "bad_request",
        `unexpected ${reply.type} reply to ${row.frame.type} (expected ${expected})`,
      );
    }
    await checkReply(row.frame, reply, sid); // an invalid answer leaves the ask pending
    const reqId = reply.req_id;
    this.#settling.set(reqId, undefined);
    let settled;
    try {
      // the client this socket declared goes with the settlement (the run's audit, anywhere)
      const answered = this.#client === null ? row : { ...row, settled_client: this.#client };
      settled = await this.#hub.settle(answered, reply);
    } finally {
      const cancel = this.#settling.get(reqId);
      this.#settling.delete(reqId);
      if (!settled && cancel) this.cancelled(reqId, cancel);
    }
    if (!settled) throw unknown();
    this.#sent.delete(reply.req_id);
    requestSettled(this.#env, this.#seat, row, this.#env.now());
  }
}
