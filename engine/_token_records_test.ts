import assert from "node:assert/strict";
import type { TokenRecord } from "../protocol/runs.ts";
import { createTokenRecords } from "./_token_records.ts";

function worker(nonce: string, runId: string, taskId: string): TokenRecord {
  return {
    nonce,
    role: "worker",
    run_id: runId,
    task_id: taskId,
    uses_left: null,
    ended: false,
    handle: `wh-${nonce}`,
  };
}

const session = (nonce: string): TokenRecord => ({
  nonce,
  role: "operator",
  uses_left: null,
  ended: false,
});

Deno.test("token records end a run's records once and retire them with their handles", () => {
  const records = createTokenRecords([worker("a", "run-1", "T-1"), worker("b", "run-1", "T-2")]);
  records.remember(worker("c", "run-2", "T-3"));
  assert.deepEqual(records.endRun("run-1").map((r) => r.nonce), ["a", "b"]);
  assert.deepEqual(records.endRun("run-1"), []);
  assert.deepEqual(records.sizes(), { live: 1, retired: 2 });
  assert.equal(records.lookup("a")?.ended, true);
  assert.equal(records.handleNonce("wh-b"), "b");
  assert.equal(records.lookup("c")?.ended, false);
});

Deno.test("token records end only the records of the task named", () => {
  const records = createTokenRecords([worker("a", "run-1", "T-1"), worker("b", "run-1", "T-2")]);
  assert.deepEqual(records.endTask("T-1").map((r) => r.nonce), ["a"]);
  assert.deepEqual(records.endTask("T-1"), []);
  assert.equal(records.lookup("b")?.ended, false);
  assert.deepEqual(records.sizes(), { live: 2, retired: 0 });
});

Deno.test("token records drop the oldest quarter of retired records past retiredMax", () => {
  const records = createTokenRecords([], 8);
  for (let i = 0; i < 9; i++) {
    records.remember(worker(`n${i}`, `run-${i}`, `T-${i}`));
    records.endRun(`run-${i}`);
  }
  // 9 > 8: 9 - 8 + 2 dropped, oldest first, handles with them
  assert.deepEqual(records.sizes(), { live: 0, retired: 6 });
  assert.equal(records.lookup("n2"), undefined);
  assert.equal(records.handleNonce("wh-n2"), undefined);
  assert.equal(records.lookup("n3")?.nonce, "n3");
});

Deno.test("token records drop a session's record but never a run's", () => {
  const records = createTokenRecords([session("s"), worker("a", "run-1", "T-1")]);
  assert.equal(records.dropSession("a"), undefined);
  assert.equal(records.dropSession("s")?.nonce, "s");
  assert.equal(records.lookup("s"), undefined);
  assert.equal(records.dropSession("s"), undefined);
});

Deno.test("token records adopt copies of the records they do not hold", () => {
  const held = worker("a", "run-1", "T-1");
  const records = createTokenRecords([held]);
  const other = worker("b", "run-1", "T-2");
  records.adopt([{ ...held, uses_left: 3 }, other]);
  assert.equal(records.lookup("a"), held);
  assert.deepEqual(records.lookup("b"), other);
  assert.notEqual(records.lookup("b"), other);
  assert.equal(records.endRun("run-1").length, 2);
});
