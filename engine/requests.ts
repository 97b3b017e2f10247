/**
 * Operator requests as records of their run: the seat that delivers a request
 * reports it sent, settled or cancelled, and the engine writes it into the
 * run's journal (and its event log). A restart reads them back with the run.
 *
 * @module
 */
import type { RequestRecord } from "../protocol/runs.ts";
import { appended, type LiveRun, type RunHost } from "./run_types.ts";
import { requestEventData, type RequestEventType } from "./request_audit.ts";

const EVENT_TYPE: Record<RequestRecord["state"], RequestEventType> = {
  pending: "operator_request_sent",
  settled: "operator_request_settled",
  cancelled: "operator_request_cancelled",
};

/** Writes a request's new state into its run's journal (not waiting for the store). */
export function recordRequest(host: RunHost, run: LiveRun, record: RequestRecord): void {
  const runId = run.record.run_id;
  const list = run.requests ?? [];
  let at = -1;
  for (let i = 0; i < list.length; i++) {
    if (list[i].req_id === record.req_id) {
      at = i;
      break;
    }
  }
  if (record.state === "cancelled") {
    if (at >= 0) list.splice(at, 1);
  } else {
    const { req_id, sid, task_id, attempt, state, sent_at } = record; // the frame stays the seat's
    const ref = { req_id, sid, task_id, attempt, state, sent_at };
    if (at >= 0) list[at] = ref;
    else run.requests = appended(run.requests, ref);
  }
  host.write(runId, () => host.store.putRequest(runId, record));
  const type = EVENT_TYPE[record.state];
  run.log.append(type, requestEventData(type, record));
}
