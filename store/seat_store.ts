/**
 * Persistence of operator seats (sid, token hash, roles) and of their operator
 * requests (pending, or settled but not yet consumed by their run).
 *
 * @module
 */
import type { ReplyFrame, RequestFrame } from "../protocol/frames.ts";

/** A stored operator seat. The token itself is never stored, only its SHA-256. */
export interface SeatRecord {
  sid: string;
  token_hash: string;
  roles: string[];
  created_at: number;
  last_seen_at: number;
}

/** A stored operator request. */
export interface RequestRecord {
  req_id: string;
  sid: string;
  /** `ask`, `hb` or `spawn`. */
  kind: "ask" | "hb" | "spawn";
  run_id?: string;
  task_id: string;
  attempt: number;
  frame: RequestFrame;
  sent_at: number;
  state: "pending" | "settled";
  reply?: ReplyFrame;
}

/** Where seats and their requests live. */
export interface SeatStore {
  putSeat(seat: SeatRecord): Promise<void>;
  /** Deletes a seat and every request of it. */
  deleteSeat(sid: string): Promise<void>;
  listSeats(): Promise<SeatRecord[]>;
  putRequest(request: RequestRecord): Promise<void>;
  deleteRequest(sid: string, reqId: string): Promise<void>;
  /** Every stored request, oldest first. */
  listRequests(): Promise<RequestRecord[]>;
  /** Deletes every request that belongs to `runId`. */
  deleteRunRequests(runId: string): Promise<void>;
}

/**
 * A seat store in memory (tests and `:memory:`). Requests are kept as shallow
 * copies: their frame and reply are shared with the caller, which never mutates
 * them (the session builds a new record for each state). Lists hand out deep copies.
 */
export function createMemorySeatStore(): SeatStore {
  const seats = new Map<string, SeatRecord>();
  const requests = new Map<string, RequestRecord>();
  return {
    putSeat(seat) {
      seats.set(seat.sid, structuredClone(seat));
      return Promise.resolve();
    },
    deleteSeat(sid) {
      seats.delete(sid);
      for (const [id, r] of requests) if (r.sid === sid) requests.delete(id);
      return Promise.resolve();
    },
    listSeats() {
      return Promise.resolve([...seats.values()].map((s) => structuredClone(s)));
    },
    putRequest(request) {
      requests.set(request.req_id, { ...request });
      return Promise.resolve();
    },
    deleteRequest(_sid, reqId) {
      requests.delete(reqId);
      return Promise.resolve();
    },
    listRequests() {
      const all = [...requests.values()].map((r) => structuredClone(r));
      return Promise.resolve(all.sort((a, b) => a.sent_at - b.sent_at));
    },
    deleteRunRequests(runId) {
      for (const [id, r] of requests) if (r.run_id === runId) requests.delete(id);
      return Promise.resolve();
    },
  };
}
