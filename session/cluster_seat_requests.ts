/**
 * The run side of a cluster seat's requests: opening one through the hub,
 * waiting for its reply (or giving it up when the run's signal aborts), and
 * telling the run's journal what became of it (its event log).
 *
 * @module
 */
import type { FaceCallOptions } from "../engine/faces.ts";
import type { CancelReason, ReplyFrame, RequestFrame } from "../protocol/frames.ts";
import type { RequestKind, RequestRecord } from "../protocol/runs.ts";
import type { RequestRow } from "../store/pg_requests.ts";
import type { ClusterHub } from "./cluster_hub.ts";
import { abortOutcome } from "./abort_outcome.ts";
import { RequestCancelled, type SettledRow } from "./cluster_pending.ts";
import type { SessionEnv } from "./seat.ts";
import { requestCancelled, requestSent } from "./seat_log.ts";
import { settledBy, settlementOf } from "./reply_audit.ts";
import type { RequestSender } from "./seat_faces.ts";

/** What the requests of one seat need to know of it. */
export interface SeatOfRequests {
  readonly sid: string;
  readonly roles: readonly string[];
  readonly closed: boolean;
  readonly connected: boolean;
  /** What the socket held here declared with `?client=` (the audit), if any. */
  readonly client: string | null;
}

/** The requests of a cluster seat: open one and wait for its reply, or follow one again. */
export interface ClusterRequests extends RequestSender {
  /**
   * Waits again for a pending request of a run owned here that nothing here
   * waits on (a nested ask made before a takeover), as `request` does.
   */
  follow(row: RequestRow, signal: AbortSignal): Promise<ReplyFrame>;
}

/** Opens the requests of `seat` through `hub`; resolves with their replies. */
export function clusterSeatRequests(
  seat: SeatOfRequests,
  env: SessionEnv,
  hub: ClusterHub,
): ClusterRequests {
  /** Tells the engine's journal about a request of a run owned here (its event log). */
  const observe = (
    type: "operator_request_sent" | "operator_request_settled" | "operator_request_cancelled",
    row: RequestRow,
    settled?: SettledRow,
    cancelled?: CancelReason,
  ) => {
    if (row.kind === "ha" || row.run_id === undefined) return;
    const state = type === "operator_request_sent"
      ? "pending"
      : type === "operator_request_settled"
      ? "settled"
      : "cancelled";
    const { settled_by: _s, settled_client: _sc, cancel_reason: _c, ...rest } = row;
    const record: RequestRecord = { ...rest, kind: row.kind, state };
    if (settled) {
      const { reply } = settled;
      record.reply = reply;
      // who: this seat, with the client its answering socket declared (on any instance)
      const declared = settled.settled_client ?? seat.client;
      record.settled = settlementOf(reply, settledBy(seat, declared), env.now());
    }
    if (cancelled) record.cancelled = cancelled; // the reason, as a single server journals it
    env.journal?.record(record);
  };

  /**
   * Waits for `row` to be settled and answers its reply, or cancels it when
   * `signal` aborts. Not async:
   * an abort rejects the run's wait as directly as on a single server, so the run
   * sees it in the same order among its other work (a fanout's abandoned branch).
   */
  const wait = (
    row: RequestRow,
    waiting: Promise<SettledRow>,
    signal: AbortSignal | undefined,
  ): Promise<ReplyFrame> => {
    const { promise, resolve, reject } = Promise.withResolvers<ReplyFrame>();
    let over = false;
    const onAbort = () => {
      if (over) return;
      over = true;
      const { cancel, error } = abortOutcome(signal!.reason); // only listened to with a signal
      // the run stops waiting now: its journal says so before the run goes on
      // or ends (as on a single server), while the row is cancelled behind
      observe("operator_request_cancelled", row, undefined, cancel);
      hub.cancel(row, cancel).then((done) => {
        if (done) requestCancelled(env, seat.sid, row, cancel);
      });
      reject(error);
    };
    waiting.then(
      (settled) => {
        signal?.removeEventListener("abort", onAbort);
        if (over) return;
        over = true;
        observe("operator_request_settled", row, settled);
        resolve(settled.reply);
      },
      (err) => {
        signal?.removeEventListener("abort", onAbort);
        if (over) return;
        over = true;
        // ended elsewhere (its seat deleted, say): the journal says why, as on one server
        if (err instanceof RequestCancelled) {
          observe("operator_request_cancelled", row, undefined, err.reason);
        }
        reject(err);
      },
    );
    if (signal) {
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) onAbort(); // it aborted while the request was being opened
    }
    return promise;
  };

  const follow = (row: RequestRow, signal: AbortSignal): Promise<ReplyFrame> =>
    wait(row, hub.follow(row), signal);

  async function request(
    kind: RequestKind,
    taskId: string,
    attempt: number,
    options: FaceCallOptions,
    build: (reqId: string) => RequestFrame,
  ): Promise<ReplyFrame> {
    if (seat.closed) throw new Error("operator session deleted");
    const { signal, runId } = options;
    if (signal?.aborted) throw abortOutcome(signal.reason).error;
    const reqId = `${seat.sid}-${kind}-${crypto.randomUUID()}`;
    const opened = await hub.open({
      req_id: reqId,
      sid: seat.sid,
      kind,
      ...(runId === undefined ? {} : { run_id: runId }),
      task_id: taskId,
      attempt,
      frame: build(reqId),
      sent_at: env.now(),
      ...(options.role === undefined ? {} : { role: options.role }),
      ...(options.deadlineAt === undefined ? {} : { deadline_at: options.deadlineAt }),
      ...(options.slot === undefined ? {} : { slot: options.slot }),
    });
    const row = opened.row;
    if (opened.state === "settled") return row.reply!;
    if (opened.state === "cancelled") throw new RequestCancelled(row.cancel_reason ?? "run_ended");
    if (opened.created) {
      observe("operator_request_sent", row);
      requestSent(env, seat.sid, row, seat.connected);
    }
    return await wait(row, opened.settled, signal);
  }
  return { request, follow };
}
