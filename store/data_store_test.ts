import assert from "node:assert/strict";
import { createMemoryDataStore, type StoredOutput } from "./data_store.ts";

const out = (id: string, value: string): StoredOutput => ({
  id,
  task_id: "T-1",
  attempt: 1,
  producer_agent: "p",
  event: { type: "final", content: { kind: "inline", value }, ok: true },
  parent_refs: [],
  created_at: 1,
});

Deno.test("an in-memory data store keeps its newest records, by count and by bytes", async () => {
  const byCount = createMemoryDataStore(3, 1e9);
  for (let i = 0; i < 5; i++) await byCount.putOutput(out(`o${i}`, "v"));
  assert.equal(await byCount.getOutput("o1"), undefined);
  assert.equal((await byCount.getOutput("o2"))?.id, "o2");
  assert.equal((await byCount.latestByProducer("p"))?.id, "o4");

  const byBytes = createMemoryDataStore(1000, 50_000);
  await byBytes.putOutput(out("small", "x"));
  await byBytes.putOutput(out("big", "y".repeat(30_000))); // ~60 KB held: the older one goes
  assert.equal(await byBytes.getOutput("small"), undefined);
  assert.equal((await byBytes.getOutput("big"))?.id, "big", "the newest is kept whatever its size");
});
