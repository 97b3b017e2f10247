import assert from "node:assert/strict";
import { isSwitchboardError } from "../../protocol/errors.ts";
import type { BlueprintNorm } from "../../protocol/blueprint.ts";
import { type BlueprintStore, isStoreError } from "../../store/blueprint_store.ts";
import { createMemoryBlueprintStore } from "../../store/blueprint_store_memory.ts";
import { normalizeBlueprint } from "./normalize.ts";
import { resolveBlueprint } from "./resolve.ts";
import { blueprintVersion } from "./version.ts";

function labelled(label: string | undefined, note = ""): BlueprintNorm {
  return normalizeBlueprint({
    id: "s",
    flow: { kind: "seq", children: [] },
    metadata: { description: note, ...(label === undefined ? {} : { version_label: label }) },
  });
}

/** Writes each Blueprint in order and returns their versions. */
async function writeAll(store: BlueprintStore, bps: BlueprintNorm[]): Promise<string[]> {
  const versions: string[] = [];
  for (const blueprint of bps) {
    const version = await blueprintVersion(blueprint);
    await store.write(blueprint.id, { version, blueprint });
    versions.push(version);
  }
  return versions;
}

Deno.test("resolveBlueprint picks the head for latest or no selector", async () => {
  const store = createMemoryBlueprintStore();
  const [, v2] = await writeAll(store, [labelled("1.0.0"), labelled("0.9.0")]);
  for (const version of [undefined, { kind: "latest" as const }]) {
    const got = await resolveBlueprint(store, { id: "s", version });
    assert.equal(got.version, v2);
    assert.equal(got.blueprint.metadata.version_label, "0.9.0");
  }
});

Deno.test("resolveBlueprint picks a fixed version in either hex case", async () => {
  const store = createMemoryBlueprintStore();
  const [v1] = await writeAll(store, [labelled("1.0.0"), labelled("2.0.0")]);
  const got = await resolveBlueprint(store, {
    id: "s",
    version: { kind: "fixed", value: v1.toUpperCase() },
  });
  assert.equal(got.version, v1);
  assert.equal(got.blueprint.metadata.version_label, "1.0.0");
  const missing = "0".repeat(64);
  await assert.rejects(
    resolveBlueprint(store, { id: "s", version: { kind: "fixed", value: missing } }),
    (err) =>
      isStoreError(err, "not_found") &&
      err.message === `store: blueprint not found: id=s version=${missing}`,
  );
});

Deno.test("resolveBlueprint picks the highest matching label, the newest on a tie", async () => {
  const store = createMemoryBlueprintStore();
  const versions = await writeAll(store, [
    labelled("1.2.0"),
    labelled("1.10.0", "a"),
    labelled(undefined),
    labelled("2.0.0"),
    labelled("1.10.0+build", "b"),
    labelled("1.9.9"),
    labelled("1.11.0-rc.1"),
  ]);
  const pick = async (req: string) =>
    (await resolveBlueprint(store, { id: "s", version: { kind: "semver_req", req } })).version;
  assert.equal(await pick("^1.2"), versions[4]);
  assert.equal(await pick("=1.2"), versions[0]);
  assert.equal(await pick("*"), versions[3]);
  assert.equal(await pick(">=1.11.0-rc.0, <2"), versions[6]);
  assert.equal(await pick("~1.9"), versions[5]);
});

Deno.test("resolveBlueprint skips a stored label that is not semver, with a warning", async () => {
  const store = createMemoryBlueprintStore();
  const good = labelled("1.0.0");
  const bad: BlueprintNorm = {
    ...labelled("1.0.0", "bad"),
    metadata: { ...good.metadata, version_label: "v2" },
  };
  const [v1] = await writeAll(store, [good, bad]);
  const warnings: string[] = [];
  const got = await resolveBlueprint(
    store,
    { id: "s", version: { kind: "semver_req", req: "*" } },
    { warn: (m) => warnings.push(m) },
  );
  assert.equal(got.version, v1);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /skipping invalid semver version_label "v2": unexpected character 'v'/);
});

Deno.test("resolveBlueprint reports a requirement nothing matches", async () => {
  const store = createMemoryBlueprintStore();
  await writeAll(store, [labelled("1.0.0"), labelled(undefined)]);
  for (const id of ["s", "unknown"]) {
    await assert.rejects(
      resolveBlueprint(store, { id, version: { kind: "semver_req", req: "^3" } }),
      (err) => isStoreError(err, "no_match") && err.message === "no version matches semver req: ^3",
    );
  }
});

Deno.test("resolveBlueprint refuses a malformed requirement", async () => {
  const store = createMemoryBlueprintStore();
  await writeAll(store, [labelled("1.0.0")]);
  await assert.rejects(
    resolveBlueprint(store, { id: "s", version: { kind: "semver_req", req: ">=1 <2" } }),
    (err) =>
      isSwitchboardError(err, "bad_request") &&
      err.message.startsWith('invalid semver req ">=1 <2"'),
  );
});

Deno.test("every selector fails on an archived series", async () => {
  const store = createMemoryBlueprintStore();
  const [v1] = await writeAll(store, [labelled("1.0.0")]);
  await store.archive("s");
  const selectors = [
    undefined,
    { kind: "latest" as const },
    { kind: "fixed" as const, value: v1 },
    { kind: "semver_req" as const, req: "^1" },
    { kind: "semver_req" as const, req: "^7" },
  ];
  for (const version of selectors) {
    await assert.rejects(
      resolveBlueprint(store, { id: "s", version }),
      (err) =>
        isStoreError(err, "archived") && err.message === "store: blueprint is archived: id=s",
    );
  }
});

Deno.test("latest on an unknown id reports an empty head", async () => {
  await assert.rejects(
    resolveBlueprint(createMemoryBlueprintStore(), { id: "x" }),
    (err) => isStoreError(err, "head_empty") && err.message === "store: head ref empty: id=x",
  );
});
