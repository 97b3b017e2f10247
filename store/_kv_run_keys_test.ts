import assert from "node:assert/strict";
import { sampleRun } from "./_durable_store_cases.ts";
import { kvRunKeys } from "./_kv_run_keys.ts";

Deno.test("kvRunKeys lays out the keys of a KV run store file as older files hold them", () => {
  const keys = kvRunKeys(["runs"]);
  const run = sampleRun("run-a", 7);
  assert.deepEqual(keys.blobs, ["runs", "blob"]);
  assert.deepEqual(keys.at("step", "run-a"), ["runs", "step", "run-a"]);
  assert.deepEqual(keys.run("run-a"), ["runs", "run", "run-a"]);
  assert.deepEqual(keys.order(run), ["runs", "order", 7, "run-a"]);
  assert.deepEqual(keys.running(run), ["runs", "running", 7, "run-a"]);
  assert.deepEqual(keys.blueprint("b"), ["runs", "blueprint", "b"]);
  assert.deepEqual(keys.runBlueprint("run-a"), ["runs", "run_bp", "run-a"]);
  assert.deepEqual(keys.status("run-a"), ["runs", "status", "run-a"]);
  assert.deepEqual(keys.step("run-a", 3), ["runs", "step", "run-a", 3]);
  assert.deepEqual(keys.journal("run-a", "0.1"), ["runs", "journal", "run-a", "0.1"]);
  assert.deepEqual(keys.event("run-a", 4), ["runs", "event", "run-a", 4]);
  assert.deepEqual(keys.request("run-a", 9, "q"), ["runs", "request", "run-a", 9, "q"]);
  assert.deepEqual(keys.task("T-1"), ["runs", "task", "T-1"]);
  assert.deepEqual(keys.runTask("run-a", "T-1"), ["runs", "run_task", "run-a", "T-1"]);
  assert.deepEqual(keys.token("n"), ["runs", "token", "n"]);
  assert.deepEqual(keys.tokenHandle("wh-x"), ["runs", "token_handle", "wh-x"]);
  const free = { nonce: "n", role: "operator" as const, uses_left: null, ended: false };
  assert.deepEqual(keys.tokenIndex(free), ["runs", "free_token", "n"]);
  assert.deepEqual(keys.tokenIndex({ ...free, run_id: "run-a" }), [
    "runs",
    "run_token",
    "run-a",
    "n",
  ]);
});

Deno.test("kvRunKeys puts every key below the prefix it is given", () => {
  const keys = kvRunKeys(["x", 1]);
  assert.deepEqual(keys.blobs, ["x", 1, "blob"]);
  assert.deepEqual(keys.token("n"), ["x", 1, "token", "n"]);
});
