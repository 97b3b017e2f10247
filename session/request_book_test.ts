import assert from "node:assert/strict";
import type { RequestRecord } from "../protocol/runs.ts";
import { SwitchboardError } from "../protocol/errors.ts";
import { RequestBook, requestKey } from "./request_book.ts";

function request(n: number, runId: string | undefined, kind: "ask" | "spawn" = "ask") {
  const reqId = `op-1-${kind}-${n}`;
  const record: RequestRecord = {
    req_id: reqId,
    sid: "op-1",
    kind,
    task_id: `T-${n}`,
    attempt: 1,
    frame: kind === "ask" ? { type: "ask", req_id: reqId, task_id: `T-${n}`, question: n } : {
      type: "spawn",
      req_id: reqId,
      task_id: `T-${n}`,
      agent: "a",
      attempt: 1,
      capability_token: "t",
      worker_handle: "wh-x",
      directive: "d",
    },
    sent_at: 1000 + n,
    state: "pending",
  };
  if (runId !== undefined) record.run_id = runId;
  return record;
}

const refused = (code: string) => (err: unknown) =>
  err instanceof SwitchboardError && err.code === code;

Deno.test("RequestBook holds nothing until its first request", () => {
  const book = new RequestBook();
  assert.equal(book.size, 0);
  assert.deepEqual([...book.entries()], []);
  assert.deepEqual(book.countByKind(), { ask: 0, hb: 0, spawn: 0 });
  assert.equal(book.find(requestKey("run-a", "T-1", 1, "ask")), undefined);
});

Deno.test("RequestBook settles a request at most once and refuses a reply of the wrong kind", () => {
  const book = new RequestBook();
  book.open(request(1, "run-a", "spawn"));
  assert.equal(book.find(requestKey("run-a", "T-1", 1, "spawn"))?.record.req_id, "op-1-spawn-1");
  assert.throws(
    () => book.settle({ type: "answer", req_id: "op-1-spawn-1", value: 1 }),
    refused("bad_request"),
  );
  assert.equal(book.size, 1, "a refused reply changes nothing");
  const entry = book.settle({ type: "spawn_ack", req_id: "op-1-spawn-1", ok: true, value: 7 });
  assert.equal(entry.record.req_id, "op-1-spawn-1");
  assert.equal(book.size, 0);
  assert.equal(book.find(requestKey("run-a", "T-1", 1, "spawn")), undefined);
  assert.throws(
    () => book.settle({ type: "spawn_ack", req_id: "op-1-spawn-1", ok: true, value: null }),
    refused("conflict"),
  );
});

Deno.test("RequestBook keeps a reply no wait took until the run asks again, once", () => {
  const book = new RequestBook();
  const record = request(2, "run-a");
  const reply = { type: "answer" as const, req_id: record.req_id, value: 2 };
  book.keepSettled(record, reply);
  const key = requestKey("run-a", "T-2", 1, "ask");
  assert.deepEqual(book.takeSettled("run-a", key), reply);
  assert.equal(book.takeSettled("run-a", key), undefined);
  book.keepSettled(request(3, undefined), reply);
  assert.equal(book.takeSettled("run-a", requestKey("run-a", "T-3", 1, "ask")), undefined);
});

Deno.test("RequestBook restores pending and settled records and skips cancelled ones", () => {
  const book = new RequestBook();
  book.restore(request(1, "run-a"));
  const settled: RequestRecord = {
    ...request(2, "run-a"),
    state: "settled",
    reply: { type: "answer", req_id: "op-1-ask-2", value: 2 },
  };
  book.restore(settled);
  book.restore({ ...request(3, "run-a"), state: "cancelled" });
  assert.deepEqual([...book.entries()].map((e) => e.record.req_id), ["op-1-ask-1"]);
  assert.deepEqual(
    book.takeSettled("run-a", requestKey("run-a", "T-2", 1, "ask")),
    settled.reply,
  );
});

Deno.test("RequestBook.forgetRun drops only that run's unwaited requests and replies", () => {
  const book = new RequestBook();
  book.open(request(1, "run-a"));
  book.open(request(2, "run-b"));
  const waited = book.open(request(3, "run-a"));
  waited.waiter = { resolve() {}, reject() {} };
  book.keepSettled(request(4, "run-a"), { type: "answer", req_id: "op-1-ask-4", value: 4 });
  const dropped = book.forgetRun("run-a");
  assert.deepEqual(dropped.map((e) => e.record.req_id), ["op-1-ask-1"]);
  assert.deepEqual([...book.entries()].map((e) => e.record.req_id), ["op-1-ask-2", "op-1-ask-3"]);
  assert.equal(book.takeSettled("run-a", requestKey("run-a", "T-4", 1, "ask")), undefined);
  assert.deepEqual(book.forgetRun("run-c"), []);
  assert.deepEqual(book.clear().map((e) => e.record.req_id), ["op-1-ask-2", "op-1-ask-3"]);
  assert.equal(book.size, 0);
});
