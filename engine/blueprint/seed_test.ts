import assert from "node:assert/strict";
import { createMemoryBlueprintStore } from "../../store/blueprint_store_memory.ts";
import { ensureSeed, seedBlueprint } from "./seed.ts";
import { blueprintVersion } from "./version.ts";

Deno.test("seedBlueprint is the identity step of http.md §1.3", () => {
  assert.deepEqual(seedBlueprint("main"), {
    schema_version: "0.1.0",
    id: "main",
    flow: {
      kind: "step",
      ref: "identity",
      in: { op: "lit", value: "hello" },
      out: { op: "path", at: "$.out" },
    },
    agents: [{ name: "identity", kind: "rust_fn", spec: { fn_id: "identity" } }],
    operators: [],
    hints: { per_agent: {} },
    strategy: { strict_refs: true, strict_kind: true },
    metadata: {
      description: "mse serve enhance seed",
      origin: { kind: "inline" },
      tags: [],
      version_label: "0.1.0",
    },
    spawner_hints: { layers: [] },
    default_agent_kind: "operator",
  });
  assert.equal(seedBlueprint("other").id, "other");
});

Deno.test("ensureSeed writes the seed once with rationale seed", async () => {
  const store = createMemoryBlueprintStore();
  const first = await ensureSeed(store);
  assert.deepEqual(first, { version: await blueprintVersion(seedBlueprint()), written: true });
  assert.equal(await ensureSeed(store), null);
  const history = await store.history("main");
  assert.equal(history.length, 1);
  assert.equal(history[0].rationale, "seed");
});

Deno.test("ensureSeed leaves an archived series alone", async () => {
  const store = createMemoryBlueprintStore();
  await ensureSeed(store, "main");
  await store.archive("main");
  assert.equal(await ensureSeed(store, "main"), null);
  assert.equal((await store.info("main"))?.archived, true);
});
