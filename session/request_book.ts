/**
 * A seat's operator requests as plain data: pending requests by req_id (in the
 * order first sent), the one pending request of each (run, task, attempt,
 * kind), and replies that arrived before the run asked again. No sockets, no
 * store, no timers: the session drives it and sends what it says.
 *
 * The maps are made on first write: an idle seat holds none.
 *
 * @module
 */
import type { ReplyFrame } from "../protocol/frames.ts";
import { type RequestKind, type RequestRecord, sentOrder } from "../protocol/runs.ts";
import { SwitchboardError } from "../protocol/errors.ts";

/** A pending request and the run's wait on it, if any. */
export interface BookEntry {
  record: RequestRecord;
  /**
   * Set when the record's `spawn` frame is held without its directive text (about
   * 2 KiB a request): the seat renders it again, identically, when it sends it.
   */
  lazy?: { alias?: string };
  waiter?: { resolve(reply: ReplyFrame): void; reject(err: unknown): void };
}

/** The reply type each request kind takes. */
export const REPLY_TYPE: Record<RequestKind, ReplyFrame["type"]> = {
  ask: "answer",
  hb: "hook_ack",
  spawn: "spawn_ack",
};

/**
 * The dedupe key of a request of a run. `slot` tells apart requests one attempt
 * makes several of (an ask node's escalation, nested asks).
 */
export function requestKey(
  runId: string,
  taskId: string,
  attempt: number,
  kind: RequestKind,
  slot?: string,
) {
  const key = `${runId}|${taskId}|${attempt}|${kind}`;
  return slot === undefined ? key : `${key}|${slot}`;
}

/** Items by run id: one item as itself (the usual case: no Set a run), more in a Set. */
type RunIndex = Map<string, string | Set<string>>;

function addTo(index: RunIndex, runId: string, item: string): void {
  const held = index.get(runId);
  if (held === undefined) index.set(runId, item);
  else if (typeof held === "string") {
    if (held !== item) index.set(runId, new Set([held, item]));
  } else held.add(item);
}

function removeFrom(index: RunIndex | undefined, runId: string, item: string) {
  const held = index?.get(runId);
  if (held === item) index!.delete(runId);
  else if (typeof held === "object" && held.delete(item) && held.size === 0) index!.delete(runId);
}

function itemsOf(index: RunIndex | undefined, runId: string): string[] {
  const held = index?.get(runId);
  return held === undefined ? [] : typeof held === "string" ? [held] : [...held];
}

/** One seat's requests. */
export class RequestBook {
  #pending?: Map<string, BookEntry>;
  #byKey?: Map<string, string>;
  #settled?: Map<string, ReplyFrame>;
  /** Pending req_ids and settled keys by run id, so `forgetRun` touches only its own. */
  #pendingByRun?: RunIndex;
  #settledByRun?: RunIndex;

  /** Number of pending requests. */
  get size(): number {
    return this.#pending?.size ?? 0;
  }

  /** Set by `restore`: the pending entries may be out of the order sent. */
  #unordered = false;

  /** Pending entries in the order first sent. */
  entries(): IterableIterator<BookEntry> {
    if (this.#unordered && this.#pending) {
      this.#pending = new Map(
        [...this.#pending].sort(([, a], [, b]) => sentOrder(a.record, b.record)),
      );
    }
    this.#unordered = false;
    return (this.#pending ?? new Map<string, BookEntry>()).values();
  }

  /** Pending requests counted by kind. */
  countByKind(): Record<RequestKind, number> {
    const counts: Record<RequestKind, number> = { ask: 0, hb: 0, spawn: 0 };
    for (const e of this.entries()) counts[e.record.kind]++;
    return counts;
  }

  /** The pending request of `req_id`. */
  get(reqId: string): BookEntry | undefined {
    return this.#pending?.get(reqId);
  }

  /** The pending request of a (run, task, attempt, kind), if one is open. */
  find(key: string): BookEntry | undefined {
    const reqId = this.#byKey?.get(key);
    return reqId === undefined ? undefined : this.#pending?.get(reqId);
  }

  /** Takes (and drops) a reply that was kept for `key`. */
  takeSettled(runId: string, key: string): ReplyFrame | undefined {
    const reply = this.#settled?.get(key);
    if (reply) {
      this.#settled!.delete(key);
      removeFrom(this.#settledByRun, runId, key);
    }
    return reply;
  }

  /** Opens a pending request. */
  open(record: RequestRecord): BookEntry {
    const entry: BookEntry = { record };
    (this.#pending ??= new Map()).set(record.req_id, entry);
    if (record.run_id !== undefined) {
      const key = requestKey(
        record.run_id,
        record.task_id,
        record.attempt,
        record.kind,
        record.slot,
      );
      (this.#byKey ??= new Map()).set(key, record.req_id);
      addTo(this.#pendingByRun ??= new Map(), record.run_id, record.req_id);
    }
    return entry;
  }

  /** Drops a pending request. */
  close(entry: BookEntry): void {
    const { record } = entry;
    this.#pending?.delete(record.req_id);
    if (record.run_id === undefined) return;
    const key = requestKey(record.run_id, record.task_id, record.attempt, record.kind, record.slot);
    if (this.#byKey?.get(key) === record.req_id) this.#byKey.delete(key);
    removeFrom(this.#pendingByRun, record.run_id, record.req_id);
  }

  /**
   * Settles the pending request a reply answers and drops it. Throws
   * `SwitchboardError`: `conflict` for an unknown or settled req_id, and
   * `bad_request` for a reply of the wrong kind (nothing changes then).
   */
  settle(reply: ReplyFrame): BookEntry {
    const entry = this.get(reply.req_id);
    if (!entry) {
      throw new SwitchboardError("conflict", `unknown or already settled req_id: ${reply.req_id}`);
    }
    const expected = REPLY_TYPE[entry.record.kind];
    if (reply.type !== expected) {
      throw new SwitchboardError(
        "bad_request",
        `unexpected ${reply.type} reply to ${entry.record.frame.type} (expected ${expected})`,
      );
    }
    this.close(entry);
    return entry;
  }

  /** Keeps a reply no waiter took yet, for the run's next call of this attempt. */
  keepSettled(record: RequestRecord, reply: ReplyFrame): void {
    if (record.run_id === undefined) return;
    const key = requestKey(record.run_id, record.task_id, record.attempt, record.kind, record.slot);
    (this.#settled ??= new Map()).set(key, reply);
    addTo(this.#settledByRun ??= new Map(), record.run_id, key);
  }

  /** Loads a request recorded before a restart (pending, or settled with its reply). */
  restore(record: RequestRecord): void {
    if (record.state === "settled") {
      if (record.reply) this.keepSettled(record, record.reply);
    } else if (record.state === "pending") {
      // Runs come back concurrently and a store lists a run's requests of one
      // millisecond in any order: the next read puts them back in the order sent.
      this.open(record);
      this.#unordered = true;
    }
  }

  /**
   * Drops what the book holds of an ended run: its kept replies, and its pending
   * requests no wait holds (returned, so the session can cancel them).
   */
  forgetRun(runId: string): BookEntry[] {
    for (const key of itemsOf(this.#settledByRun, runId)) this.#settled?.delete(key);
    this.#settledByRun?.delete(runId);
    const dropped: BookEntry[] = [];
    for (const reqId of itemsOf(this.#pendingByRun, runId)) {
      const entry = this.get(reqId);
      if (entry && !entry.waiter) {
        this.close(entry);
        dropped.push(entry);
      }
    }
    return dropped;
  }

  /** Empties the book; returns the pending entries it held. */
  clear(): BookEntry[] {
    const all = [...this.entries()];
    this.#pending = this.#byKey = this.#settled = undefined;
    this.#pendingByRun = this.#settledByRun = undefined;
    return all;
  }
}
