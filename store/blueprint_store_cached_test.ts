import assert from "node:assert/strict";
import { put, runBlueprintStoreCases, sampleBlueprint } from "./_blueprint_store_cases.ts";
import { createKvBlueprintStore } from "./blueprint_store_kv.ts";
import { cachedBlueprintStore } from "./blueprint_store_cached.ts";

Deno.test("a cached KV Blueprint store passes the shared store cases", async (t) => {
  let kv: Deno.Kv | undefined;
  await runBlueprintStoreCases(t, {
    async open(options) {
      kv = await Deno.openKv(":memory:");
      return cachedBlueprintStore(createKvBlueprintStore(kv, options));
    },
    close: () => kv?.close(),
  });
});

Deno.test("a cached Blueprint store reads a head once, and again after a write or an archive", async () => {
  using kv = await Deno.openKv(":memory:");
  const inner = createKvBlueprintStore(kv);
  let reads = 0;
  const counting = { ...inner, kind: inner.kind };
  counting.readHead = (id) => {
    reads++;
    return inner.readHead(id);
  };
  const store = cachedBlueprintStore(counting);
  await put(store, sampleBlueprint("a", "first"));
  const first = await store.readHead("a");
  assert.equal((await store.readHead("a")).version, first.version);
  assert.equal(reads, 1);
  await put(store, sampleBlueprint("a", "second"));
  assert.notEqual((await store.readHead("a")).version, first.version);
  assert.equal(reads, 2);
  await store.archive("a");
  await assert.rejects(store.readHead("a"));
  await assert.rejects(store.readHead("a"));
  assert.equal(reads, 4, "a failed read is not kept");
  await store.unarchive("a");
  await store.readHead("a");
  assert.equal(reads, 5);
});
