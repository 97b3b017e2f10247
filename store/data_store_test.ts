import assert from "node:assert/strict";
import { createMemoryDataStore, type StoredOutput } from "./data_store.ts";
import { createKvDataStore } from "./data_store_kv.ts";

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

Deno.test("KV retention also deletes records written before they had an age key", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const data = createKvDataStore(kv);
    for (let i = 0; i < 5; i++) await data.putOutput({ ...out(`o${i}`, "v"), created_at: 100 + i });
    // o1 and o3 as an earlier build wrote them: no `at` key
    await kv.delete(["data", "at", 101, "o1"]);
    await kv.delete(["data", "at", 103, "o3"]);
    // a batch of 2 ages o0 and o1 (o1 gains its key) and prunes o0 and o1
    assert.equal(await data.pruneBefore(200, 2), 2);
    assert.equal(await data.getOutput("o1"), undefined);
    assert.equal((await data.getOutput("o2"))?.id, "o2");
    const mark = (await kv.get<{ cursor?: string; done?: boolean }>(["data", "aged"])).value;
    assert.equal(typeof mark?.cursor, "string", "it goes on from there next time");
    assert.equal(mark?.done, undefined);
    // the next ones: o3 is found on the way, and every old record is gone at the end
    assert.equal(await data.pruneBefore(200, 10), 3);
    assert.deepEqual((await kv.get(["data", "aged"])).value, { done: true });
    for (let i = 0; i < 5; i++) assert.equal(await data.getOutput(`o${i}`), undefined);
    const left = await Array.fromAsync(kv.list({ prefix: ["data"] }));
    assert.deepEqual(left.map((e) => e.key), [["data", "aged"]]);
  } finally {
    kv.close();
  }
});
