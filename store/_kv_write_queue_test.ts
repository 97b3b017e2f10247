import assert from "node:assert/strict";
import { createKvWriteQueue } from "./_kv_write_queue.ts";

Deno.test("KV write queue commits writes issued together in one commit, settling in call order", async () => {
  using kv = await Deno.openKv(":memory:");
  const queue = createKvWriteQueue(kv, ["blob"]);
  let commits = 0;
  const commit = Deno.AtomicOperation.prototype.commit;
  Deno.AtomicOperation.prototype.commit = function counted() {
    commits++;
    return commit.call(this);
  };
  try {
    const settled: string[] = [];
    const writes = [
      queue.write({ key: ["a"], value: { n: 1 }, blob: true }),
      queue.write({ key: ["b"], value: { n: 1 }, blob: true }),
      queue.write({ key: ["a"], value: { n: 2 }, blob: true }),
      queue.write({ key: ["e"], value: "first", blob: true, onlyIfAbsent: true }),
      queue.write({ key: ["e"], value: "second", blob: true, onlyIfAbsent: true }),
      queue.write({ key: ["t"], value: { raw: true }, blob: false }),
    ].map((p, i) => p.then(() => settled.push(`w${i}`)));
    await Promise.all(writes);
    assert.equal(commits, 1);
    assert.deepEqual(settled, ["w0", "w1", "w2", "w3", "w4", "w5"]);
    // small values are stored as their JSON text
    assert.deepEqual((await kv.get(["a"])).value, '{"n":2}');
    assert.deepEqual((await kv.get(["e"])).value, '"first"');
    assert.deepEqual((await kv.get(["t"])).value, { raw: true });
  } finally {
    Deno.AtomicOperation.prototype.commit = commit;
  }
});

Deno.test("KV write queue fails only the bad write of a batch", async () => {
  using kv = await Deno.openKv(":memory:");
  const queue = createKvWriteQueue(kv, ["blob"]);
  const good = queue.write({ key: ["good"], value: 1, blob: true });
  // a raw value over KV's 64 KiB value limit: KV refuses it
  const bad = queue.write({ key: ["bad"], value: "x".repeat(70 * 1024), blob: false });
  const later = queue.write({ key: ["later"], value: { big: "y".repeat(90 * 1024) }, blob: true });
  const [g, b, l] = await Promise.allSettled([good, bad, later]);
  assert.equal(g.status, "fulfilled");
  assert.equal(b.status, "rejected");
  assert.equal(l.status, "fulfilled");
  assert.equal((await kv.get(["bad"])).value, null);
  assert.equal((await kv.get<{ kind: string }>(["later"])).value?.kind, "chunked");
});
