/**
 * A `:memory:` server kept every Blueprint version and commit text it was sent,
 * without bound (a KV file has SWITCHBOARD_KV_MAX_MB): 300 versions of 1 MB took
 * its RSS from 84 MB to 460 MB, and nothing is ever deleted from that store. Now
 * it keeps 256 Mi characters of them; past that a new version answers 507
 * `storage_full` (JSON), and reads and runs of what it holds go on.
 *
 * @module
 */
import assert from "node:assert/strict";
import { memoryStores } from "../../deps.ts";
import { createMemoryBlueprintStore } from "../../store/blueprint_store_memory.ts";
import { startServer } from "../_helpers.ts";

Deno.test("a :memory: server's Blueprint store is bounded: past it a new version is 507 storage_full", async () => {
  // the bound made small (3.5 M characters) so the test stays fast
  const stores = {
    ...memoryStores(),
    blueprints: createMemoryBlueprintStore({ maxChars: 3_500_000 }),
  };
  await using server = await startServer({ stores });
  const register = async (i: number) => {
    const res = await fetch(`${server.base}/v1/blueprints/b`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        id: "b",
        agents: [],
        metadata: { description: `${i}`.padEnd(1_000_000, "d") },
        flow: { kind: "assign", at: "$.y", value: "1" },
      }),
    });
    return { status: res.status, body: await res.json() };
  };
  for (let i = 0; i < 3; i++) assert.equal((await register(i)).status, 201);
  const full = await register(3); // the fourth would pass 3.5 M characters
  assert.equal(full.status, 507);
  assert.equal(full.body.code, "storage_full");
  assert.match(full.body.error, /storage full: this :memory: server keeps/);
  // what it holds still serves
  const head = await fetch(`${server.base}/v1/blueprints/b`);
  assert.equal(head.status, 200);
  await head.body?.cancel();
  const run = await fetch(`${server.base}/v1/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ blueprint: { kind: "id", id: "b" }, init_ctx: {} }),
  });
  assert.equal(run.status, 200);
  await run.body?.cancel();
});
