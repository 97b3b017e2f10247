import assert from "node:assert/strict";
import type { RequestRow } from "../store/pg_requests.ts";
import { countByKind, createPendingView, pendingRecordsOf } from "./cluster_pending.ts";

function row(n: number, kind: RequestRow["kind"], sid = "op-1"): RequestRow {
  const reqId = `${sid}-${kind}-${n}`;
  return {
    req_id: reqId,
    sid,
    kind,
    run_id: "run-1",
    task_id: `T-${n}`,
    attempt: 1,
    frame: { type: "ask", req_id: reqId, task_id: `T-${n}`, question: n },
    sent_at: n,
    state: "pending",
    settled_by: "i-1",
  };
}

Deno.test("a seat's pending rows list as records and counts without hook_afters", () => {
  const rows = [row(1, "ask"), row(2, "ha"), row(3, "spawn"), row(4, "ask")];
  assert.deepEqual(countByKind(rows), { ask: 2, hb: 0, spawn: 1 });
  const records = pendingRecordsOf(rows);
  assert.deepEqual(records.map((r) => [r.req_id, r.state]), [
    ["op-1-ask-1", "pending"],
    ["op-1-spawn-3", "pending"],
    ["op-1-ask-4", "pending"],
  ]);
  assert.ok(records.every((r) => !("settled_by" in r)));
});

Deno.test("the pending view keeps rows by seat in the order seen and forgets ended ones", () => {
  const view = createPendingView();
  for (const r of [row(1, "ask"), row(2, "ask", "op-2"), row(3, "spawn")]) view.keep(r);
  assert.deepEqual(view.of("op-1").map((r) => r.req_id), ["op-1-ask-1", "op-1-spawn-3"]);
  assert.equal(view.drop("op-1-ask-1")?.task_id, "T-1");
  assert.ok(view.ended("op-1-ask-1"));
  assert.deepEqual(view.of("op-1").map((r) => r.req_id), ["op-1-spawn-3"]);
  assert.equal(view.get("op-1-ask-1"), undefined);
});
