import assert from "node:assert/strict";
import { isSwitchboardError } from "../../protocol/errors.ts";
import { createMemoryBlueprintStore } from "../../store/blueprint_store_memory.ts";
import { FIXTURE_A } from "./_fixtures.ts";
import { normalizeBlueprint } from "./normalize.ts";
import { registerBlueprint } from "./register.ts";
import { blueprintVersion } from "./version.ts";

Deno.test("registerBlueprint appends new content and skips content equal to the head", async () => {
  const store = createMemoryBlueprintStore();
  const version = await blueprintVersion(normalizeBlueprint(FIXTURE_A));
  const id = FIXTURE_A.id;
  assert.deepEqual(await registerBlueprint(store, id, FIXTURE_A), { id, version, seeded: true });
  assert.deepEqual(await registerBlueprint(store, id, FIXTURE_A), { id, version, seeded: false });
  const changed = { ...FIXTURE_A, metadata: { version_label: "1.1.0" } };
  assert.equal((await registerBlueprint(store, id, changed)).seeded, true);
  assert.equal((await registerBlueprint(store, id, FIXTURE_A)).seeded, true);
  assert.equal((await store.history(id)).length, 3);
});

Deno.test("registerBlueprint refuses bad ids, mismatched ids and archived series", async () => {
  const store = createMemoryBlueprintStore();
  const id = FIXTURE_A.id;
  const fails = async (p: Promise<unknown>, code: string, message: string) => {
    await assert.rejects(p, (err) => {
      assert.ok(isSwitchboardError(err), String(err));
      assert.equal(err.code, code);
      assert.equal(err.message, message);
      return true;
    });
  };
  await fails(registerBlueprint(store, "../x", FIXTURE_A), "bad_request", "invalid blueprint id");
  await fails(
    registerBlueprint(store, id, { ...FIXTURE_A, id: "a/b" }),
    "bad_request",
    "invalid blueprint id",
  );
  await fails(
    registerBlueprint(store, "other", FIXTURE_A),
    "bad_request",
    `path id=other != body.id=${id}`,
  );
  await fails(registerBlueprint(store, id, { id }), "invalid", "blueprint parse: /flow: required");
  await registerBlueprint(store, id, FIXTURE_A);
  await store.archive(id);
  await fails(
    registerBlueprint(store, id, FIXTURE_A),
    "conflict",
    `blueprint ${id} is archived; POST /v1/blueprints/${id}/unarchive first`,
  );
});
