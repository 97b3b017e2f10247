import assert from "node:assert/strict";
import { ParentEnded } from "./abort_outcome.ts";
import { createNestedSignals } from "./nested_signals.ts";

const SPAWN = { runId: "run-1", taskId: "T-1", attempt: 1 };

Deno.test("a nested ask's signal aborts with ParentEnded when its spawn ends, once", () => {
  const signals = createNestedSignals();
  const a = signals.child("op-1-spawn-1", SPAWN);
  const b = signals.child("op-1-spawn-1", SPAWN);
  const other = signals.child("op-1-spawn-2", { ...SPAWN, taskId: "T-2" });
  signals.end("op-1-spawn-1");
  assert.ok(a.signal.reason instanceof ParentEnded);
  assert.ok(b.signal.reason instanceof ParentEnded);
  assert.equal(other.signal.aborted, false);
  signals.end("op-1-spawn-1"); // ended already: nothing left to abort
  other.release();
  signals.end("op-1-spawn-2"); // released: its signal is no longer the group's
  assert.equal(other.signal.aborted, false);
});

Deno.test("endWhere ends the nested asks of the spawns it picks and no others", () => {
  const signals = createNestedSignals();
  const first = signals.child("op-1-spawn-1", SPAWN);
  const retry = signals.child("op-1-spawn-2", { ...SPAWN, attempt: 2 });
  const otherRun = signals.child("op-1-spawn-3", { ...SPAWN, runId: "run-2" });
  signals.endWhere((s) => s.runId === "run-1" && s.attempt === 2);
  assert.deepEqual([first, retry, otherRun].map((c) => c.signal.aborted), [false, true, false]);
  signals.endWhere((s) => s.runId === "run-1");
  assert.deepEqual([first, retry, otherRun].map((c) => c.signal.aborted), [true, true, false]);
});
