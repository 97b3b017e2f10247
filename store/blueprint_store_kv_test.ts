import assert from "node:assert/strict";
import {
  fakeVersion,
  put,
  runBlueprintStoreCases,
  sampleBlueprint,
} from "./_blueprint_store_cases.ts";
import { createKvBlueprintStore } from "./blueprint_store_kv.ts";

Deno.test("KV Blueprint store passes the shared store cases", async (t) => {
  let kv: Deno.Kv | undefined;
  await runBlueprintStoreCases(t, {
    async open(options) {
      kv = await Deno.openKv(":memory:");
      return createKvBlueprintStore(kv, options);
    },
    close: () => kv?.close(),
  });
});

Deno.test("KV Blueprint store survives closing and reopening its file", async () => {
  const path = await Deno.makeTempFile({ suffix: ".kv" });
  try {
    const big = sampleBlueprint("a", "x".repeat(300 * 1024), "2.0.0");
    const small = sampleBlueprint("b", "small", "1.0.0");
    {
      using kv = await Deno.openKv(path);
      const store = createKvBlueprintStore(kv);
      await put(store, sampleBlueprint("a", "first", "1.0.0"));
      await put(store, big);
      await put(store, small);
      await store.archive("b");
    }
    using kv = await Deno.openKv(path);
    const store = createKvBlueprintStore(kv);
    assert.deepEqual(await store.readHead("a"), {
      id: "a",
      version: await fakeVersion(big),
      blueprint: big,
    });
    assert.deepEqual((await store.history("a")).map((e) => e.version_label), ["2.0.0", "1.0.0"]);
    assert.deepEqual(await store.listIds({ includeArchived: true }), [
      { id: "a", head: await fakeVersion(big), archived: false },
      { id: "b", head: await fakeVersion(small), archived: true },
    ]);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("two KV handles on one file serialize their writes to one id", async () => {
  const path = await Deno.makeTempFile({ suffix: ".kv" });
  try {
    using kv1 = await Deno.openKv(path);
    using kv2 = await Deno.openKv(path);
    const stores = [createKvBlueprintStore(kv1), createKvBlueprintStore(kv2)];
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) => put(stores[i % 2], sampleBlueprint("a", `w${i}`))),
    );
    assert.ok(results.every((r) => r.written));
    const history = await stores[0].history("a");
    assert.equal(history.length, 16);
    for (let i = 0; i < history.length - 1; i++) {
      assert.deepEqual(history[i].parents, [history[i + 1].version]);
    }
    assert.equal((await stores[1].readHead("a")).version, history[0].version);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("KV Blueprint store keeps two prefixes apart", async () => {
  using kv = await Deno.openKv(":memory:");
  const one = createKvBlueprintStore(kv, { prefix: ["one"] });
  const two = createKvBlueprintStore(kv, { prefix: ["two"] });
  await put(one, sampleBlueprint("a"));
  assert.deepEqual(await two.listIds(), []);
  assert.equal((await one.listIds()).length, 1);
});

Deno.test("a large body written by a losing writer leaves no chunks behind", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = createKvBlueprintStore(kv);
  const bp = sampleBlueprint("a", "y".repeat(200 * 1024));
  const results = await Promise.all([put(store, bp), put(store, bp), put(store, bp)]);
  assert.equal(results.filter((r) => r.written).length, 1);
  const refs = [];
  for await (const e of kv.list({ prefix: ["blueprints", "version"] })) refs.push(e.value);
  assert.equal(refs.length, 1);
  let chunks = 0;
  for await (const _ of kv.list({ prefix: ["blueprints", "blob"] })) chunks++;
  const ref = refs[0] as { kind: string; chunks: number };
  assert.equal(ref.kind, "chunked");
  assert.equal(chunks, ref.chunks);
});
