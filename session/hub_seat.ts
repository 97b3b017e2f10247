/**
 * What the cluster hub (session/cluster_hub.ts) tells the seats of its
 * instance, and what it needs from their table.
 *
 * @module
 */
import type { CancelReason } from "../protocol/frames.ts";
import type { RequestRow } from "../store/pg_requests.ts";
import type { SeatRow } from "../store/pg_seats.ts";

/** What the hub tells the seat objects of this instance. */
export interface HubSeat {
  readonly sid: string;
  /** The seat's last activity seen here (the idle sweep reads it). */
  lastSeenAt: number;
  /** A pending request of this seat appeared (deliver it if the socket is here). */
  delivered(row: RequestRow): void;
  /** A request of this seat ended without a reply (cancel it on the socket here). */
  cancelled(reqId: string, reason: CancelReason): void;
  /** A request of this seat is no longer pending (its nested asks end with it). */
  requestEnded(reqId: string): void;
  /** The seat's socket moved to `instance` at `epoch` (close an older one here). */
  socketMoved(instance: string | null, epoch: number): void;
  /** True while this instance holds the seat's socket. */
  readonly holdsSocket: boolean;
}

/** What the hub needs from the seat table of this instance. */
export interface HubSeats {
  get(sid: string): HubSeat | undefined;
  /** Registers a seat minted elsewhere. */
  add(row: SeatRow): void;
  /** Tears down a seat deleted elsewhere. */
  remove(sid: string): void;
  sids(): string[];
}
