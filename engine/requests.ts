/**
 * Operator requests as records of their run: the seat that delivers a request
 * reports it sent, settled or cancelled, and the engine writes it into the
 * run's journal (and its event log). A restart reads them back with the run.
 *
 * @module
 */
import type { RequestRecord } from "../protocol/runs.ts";
import type { LiveRun, RunHost } from "./run_types.ts";
import { requestEventData, type RequestEventType } from "./request_audit.ts";

const EVENT_TYPE: Record<RequestRecord["state"], RequestEventType> = {
  pending: "operator_request_sent",
  settled: "operator_request_settled",
  cancelled: "operator_request_cancelled",
};

/** Writes a request's new state into its run's journal (not waiting for the store). */
export function recordRequest(host: RunHost, run: LiveRun, record: RequestRecord): void {
  const runId = run.record.run_id;
  if (record.state === "cancelled") run.requests?.delete(record.req_id);
  else (run.requests ??= new Map()).set(record.req_id, record);
  host.write(runId, () => host.store.putRequest(runId, record));
  const type = EVENT_TYPE[record.state];
  run.log.append(type, requestEventData(type, record));
}
