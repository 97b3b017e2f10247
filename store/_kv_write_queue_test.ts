import assert from "node:assert/strict";
import { createKvWriteQueue } from "./_kv_write_queue.ts";
import { getJson } from "./_kv_json.ts";

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

Deno.test("KV write queue makes a group's writes when it takes them, over several commits if needed", async () => {
  using kv = await Deno.openKv(":memory:");
  const queue = createKvWriteQueue(kv, ["blob"]);
  let commits = 0;
  const commit = Deno.AtomicOperation.prototype.commit;
  Deno.AtomicOperation.prototype.commit = function counted() {
    commits++;
    return commit.call(this);
  };
  try {
    const state = { n: 1 };
    let made = 0;
    const settled: string[] = [];
    const before = queue.write({ key: ["before"], value: 1, blob: true });
    const group = queue.group(() => {
      made++;
      // 500 writes: more than one commit holds
      return Array.from({ length: 500 }, (_, i) => ({
        key: ["g", i],
        value: { ...state, i },
        blob: true,
        fresh: true,
      }));
    });
    state.n = 2; // changed before the queue takes the group: its writes see it
    const after = queue.write({ key: ["after"], value: 1, blob: true });
    await Promise.all([before, group, after].map((p, i) => p.then(() => settled.push(`w${i}`))));
    assert.equal(made, 1);
    assert.equal(commits, 2);
    assert.deepEqual(settled, ["w0", "w1", "w2"]);
    assert.equal((await kv.get(["g", 499])).value, '{"n":2,"i":499}');
  } finally {
    Deno.AtomicOperation.prototype.commit = commit;
  }
});

Deno.test("KV write queue rejects a group when one of its writes fails, and only that group", async () => {
  using kv = await Deno.openKv(":memory:");
  const queue = createKvWriteQueue(kv, ["blob"]);
  const good = queue.group(() => [{ key: ["ok"], value: 1, blob: true }]);
  const bad = queue.group(() => [
    { key: ["fine"], value: 2, blob: true },
    // a raw value over KV's 64 KiB value limit: KV refuses it
    { key: ["bad"], value: "x".repeat(70 * 1024), blob: false },
  ]);
  const thrown = queue.group(() => {
    throw new Error("no writes");
  });
  const empty = queue.group(() => []);
  const [g, b, t, e] = await Promise.allSettled([good, bad, thrown, empty]);
  assert.equal(g.status, "fulfilled");
  assert.equal(b.status, "rejected");
  assert.equal(t.status, "rejected");
  assert.equal(e.status, "fulfilled");
  assert.equal(await getJson(kv, ["fine"], ["blob"]), 2); // written again on its own
  assert.equal((await kv.get(["bad"])).value, null);
});

Deno.test("KV write queue keeps a commit's keys under KV's 80 KiB", async () => {
  using kv = await Deno.openKv(":memory:");
  const queue = createKvWriteQueue(kv, ["blob"]);
  let commits = 0;
  let failed = 0;
  const commit = Deno.AtomicOperation.prototype.commit;
  Deno.AtomicOperation.prototype.commit = async function counted() {
    commits++;
    try {
      return await commit.call(this);
    } catch (err) {
      failed++;
      throw err;
    }
  };
  try {
    // 200 keys of about 1 KiB: 200 KiB of keys, more than one commit may hold
    const long = "k".repeat(1000);
    await Promise.all(
      Array.from(
        { length: 200 },
        (_, i) => queue.write({ key: [long, i], value: i, blob: true, fresh: true }),
      ),
    );
    assert.equal(failed, 0, "no commit was refused");
    assert.equal(commits, 3);
    assert.equal(await getJson(kv, [long, 199], ["blob"]), 199);
  } finally {
    Deno.AtomicOperation.prototype.commit = commit;
  }
});
