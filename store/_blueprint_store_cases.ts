/**
 * One table of behaviour cases that every {@link BlueprintStore} must pass. The
 * memory and KV tests run it with their own factory.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { BlueprintNorm } from "../protocol/blueprint.ts";
import { isSwitchboardError } from "../protocol/errors.ts";
import { type BlueprintStore, isStoreError, type StoreErrorKind } from "./blueprint_store.ts";

/** Makes a store for one case, and cleans up after it. */
export interface StoreFactory {
  open(options: { now: () => number }): Promise<BlueprintStore>;
  close(): Promise<void> | void;
}

/** A small normalized Blueprint; `label` sets `metadata.version_label`, `note` varies content. */
export function sampleBlueprint(id: string, note = "", label?: string): BlueprintNorm {
  return {
    schema_version: "0.1.0",
    id,
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
      description: note,
      origin: { kind: "inline" },
      tags: [],
      ...(label === undefined ? {} : { version_label: label }),
    },
    spawner_hints: { layers: [] },
    default_agent_kind: "operator",
  };
}

/** A stand-in version for a Blueprint: SHA-256 of its JSON text (the store never checks it). */
export async function fakeVersion(bp: BlueprintNorm): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(JSON.stringify(bp)),
  );
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Writes `bp` under its id with its fake version. */
export async function put(store: BlueprintStore, bp: BlueprintNorm, rationale?: string) {
  return await store.write(bp.id, { version: await fakeVersion(bp), blueprint: bp, rationale });
}

async function rejectsWith(p: Promise<unknown>, kind: StoreErrorKind, message: string) {
  await assert.rejects(p, (err) => {
    assert.ok(isStoreError(err, kind), `expected a ${kind} StoreError, got ${err}`);
    assert.equal(err.message, message);
    return true;
  });
}

type Case = [name: string, run: (store: BlueprintStore, clock: { t: number }) => Promise<void>];

const CASES: Case[] = [
  ["readHead of an unknown id fails with head_empty", async (store) => {
    await rejectsWith(store.readHead("nope"), "head_empty", "store: head ref empty: id=nope");
  }],

  ["write appends the first commit and readHead returns it", async (store, clock) => {
    const bp = sampleBlueprint("a", "one", "1.0.0");
    const res = await put(store, bp);
    assert.deepEqual(res, { version: await fakeVersion(bp), written: true });
    assert.deepEqual(await store.readHead("a"), { id: "a", version: res.version, blueprint: bp });
    assert.deepEqual(await store.history("a"), [{
      version: res.version,
      parents: [],
      ts_ms: clock.t,
      rationale: "seed",
      version_label: "1.0.0",
    }]);
  }],

  ["write of the head content writes nothing", async (store) => {
    const bp = sampleBlueprint("a", "one");
    assert.equal((await put(store, bp)).written, true);
    assert.equal((await put(store, bp)).written, false);
    assert.equal((await store.history("a")).length, 1);
  }],

  ["write of an older version appends it again with the head as parent", async (store) => {
    const one = await put(store, sampleBlueprint("a", "one"));
    const two = await put(store, sampleBlueprint("a", "two"), "second");
    const again = await put(store, sampleBlueprint("a", "one"));
    assert.equal(again.written, true);
    assert.equal((await store.readHead("a")).version, one.version);
    const history = await store.history("a");
    assert.deepEqual(history.map((e) => e.version), [one.version, two.version, one.version]);
    assert.deepEqual(history.map((e) => e.parents), [[two.version], [one.version], []]);
    assert.deepEqual(history.map((e) => e.rationale), ["seed", "second", "seed"]);
  }],

  ["readVersion returns any stored version, in either hex case", async (store) => {
    const one = sampleBlueprint("a", "one");
    const v1 = (await put(store, one)).version;
    await put(store, sampleBlueprint("a", "two"));
    assert.deepEqual(await store.readVersion("a", v1), { id: "a", version: v1, blueprint: one });
    assert.equal((await store.readVersion("a", v1.toUpperCase())).version, v1);
  }],

  ["readVersion of an unknown version or id fails with not_found", async (store) => {
    await put(store, sampleBlueprint("a"));
    const v = "ab".repeat(32);
    await rejectsWith(
      store.readVersion("a", v),
      "not_found",
      `store: blueprint not found: id=a version=${v}`,
    );
    await rejectsWith(
      store.readVersion("zz", v.toUpperCase()),
      "not_found",
      `store: blueprint not found: id=zz version=${v}`,
    );
  }],

  ["a version of one id is not readable under another id", async (store) => {
    const v = (await put(store, sampleBlueprint("a"))).version;
    await put(store, sampleBlueprint("b"));
    await rejectsWith(
      store.readVersion("b", v),
      "not_found",
      `store: blueprint not found: id=b version=${v}`,
    );
  }],

  ["archive hides the head and blocks writes until unarchive", async (store) => {
    const v1 = (await put(store, sampleBlueprint("a", "one"))).version;
    await store.archive("a");
    const archived = "store: blueprint is archived: id=a";
    await rejectsWith(store.readHead("a"), "archived", archived);
    await rejectsWith(store.readVersion("a", v1), "archived", archived);
    await rejectsWith(put(store, sampleBlueprint("a", "two")), "archived", archived);
    await rejectsWith(put(store, sampleBlueprint("a", "one")), "archived", archived);
    assert.equal((await store.readVersion("a", v1, { allowArchived: true })).version, v1);
    assert.deepEqual(await store.info("a"), { id: "a", head: v1, archived: true });
    await store.unarchive("a");
    assert.equal((await store.readHead("a")).version, v1);
    assert.equal((await put(store, sampleBlueprint("a", "two"))).written, true);
  }],

  ["archive and unarchive may repeat, and the newest marker wins", async (store) => {
    await put(store, sampleBlueprint("a"));
    await store.archive("a");
    await store.archive("a");
    await store.unarchive("a");
    await store.readHead("a");
    await store.unarchive("a");
    await store.archive("a");
    await rejectsWith(store.readHead("a"), "archived", "store: blueprint is archived: id=a");
  }],

  ["archive and unarchive of an id without commits fail with id_not_found", async (store) => {
    await rejectsWith(
      store.archive("ghost"),
      "id_not_found",
      "store: blueprint id not found: ghost",
    );
    await rejectsWith(
      store.unarchive("ghost"),
      "id_not_found",
      "store: blueprint id not found: ghost",
    );
    assert.equal(await store.info("ghost"), null);
  }],

  [
    "history lists content commits newest first and skips markers before limiting",
    async (store) => {
      const versions: string[] = [];
      for (let i = 0; i < 5; i++) {
        versions.unshift((await put(store, sampleBlueprint("a", `n${i}`, `1.0.${i}`))).version);
        await store.archive("a");
        await store.unarchive("a");
      }
      await store.archive("a");
      assert.deepEqual((await store.history("a", 3)).map((e) => e.version), versions.slice(0, 3));
      assert.deepEqual((await store.history("a")).map((e) => e.version), versions);
      assert.deepEqual((await store.history("a", 5)).map((e) => e.version_label), [
        "1.0.4",
        "1.0.3",
        "1.0.2",
        "1.0.1",
        "1.0.0",
      ]);
      assert.deepEqual(await store.history("a", 0), []);
    },
  ],

  ["history of an unknown id is empty", async (store) => {
    assert.deepEqual(await store.history("nope", 20), []);
  }],

  ["history caps the limit at 1024", async (store) => {
    for (let i = 0; i < 1030; i++) {
      await store.write("big", {
        version: i.toString(16).padStart(64, "0"),
        blueprint: sampleBlueprint("big"),
      });
    }
    assert.equal((await store.history("big", 5000)).length, 1024);
    assert.equal((await store.history("big", Infinity)).length, 1024);
    assert.equal((await store.history("big")).length, 1024);
    assert.equal((await store.history("big", 7)).length, 7);
  }],

  ["listIds lists heads sorted by id, archived ones only when asked", async (store) => {
    const c = (await put(store, sampleBlueprint("c"))).version;
    const a = (await put(store, sampleBlueprint("a"))).version;
    const b = (await put(store, sampleBlueprint("B"))).version;
    await store.archive("c");
    assert.deepEqual(await store.listIds(), [
      { id: "B", head: b, archived: false },
      { id: "a", head: a, archived: false },
    ]);
    assert.deepEqual(await store.listIds({ includeArchived: true }), [
      { id: "B", head: b, archived: false },
      { id: "a", head: a, archived: false },
      { id: "c", head: c, archived: true },
    ]);
  }],

  ["write refuses a bad id, a bad version or a mismatched body id", async (store) => {
    const bp = sampleBlueprint("a");
    const cases: [string, string, string][] = [
      ["../x", "f".repeat(64), "invalid blueprint id"],
      ["a", "F".repeat(64), `store: invalid version: ${"F".repeat(64)}`],
      ["a", "abc", "store: invalid version: abc"],
      ["b", "f".repeat(64), "path id=b != body.id=a"],
    ];
    for (const [id, version, message] of cases) {
      await assert.rejects(store.write(id, { version, blueprint: bp }), (err) => {
        assert.ok(isSwitchboardError(err, "bad_request"));
        assert.equal(err.message, message);
        return true;
      });
    }
    assert.deepEqual(await store.listIds({ includeArchived: true }), []);
  }],

  ["concurrent writes to one id are serialized and keep the parent chain", async (store) => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => put(store, sampleBlueprint("a", `w${i}`))),
    );
    assert.ok(results.every((r) => r.written));
    const history = await store.history("a");
    assert.equal(history.length, 12);
    for (let i = 0; i < history.length - 1; i++) {
      assert.deepEqual(history[i].parents, [history[i + 1].version]);
    }
    assert.equal((await store.readHead("a")).version, history[0].version);
  }],

  ["concurrent writes of the same content write it once", async (store) => {
    const bp = sampleBlueprint("a", "same");
    const results = await Promise.all(Array.from({ length: 6 }, () => put(store, bp)));
    assert.equal(results.filter((r) => r.written).length, 1);
    assert.equal((await store.history("a")).length, 1);
  }],

  ["a Blueprint larger than 1 MiB round-trips", async (store) => {
    const bp = sampleBlueprint("a", "é😀".repeat(200_000));
    const { version } = await put(store, bp);
    assert.deepEqual((await store.readHead("a")).blueprint, bp);
    assert.deepEqual((await store.readVersion("a", version)).blueprint, bp);
  }],

  ["values read from the store are not shared with callers", async (store) => {
    const bp = sampleBlueprint("a", "x");
    await put(store, bp);
    bp.metadata.tags.push("changed after write");
    const first = await store.readHead("a");
    assert.equal(first.blueprint.metadata.tags.length, 0);
    first.blueprint.metadata.tags.push("changed after read");
    assert.deepEqual((await store.readHead("a")).blueprint.metadata.tags, []);
  }],

  ["commit times come from the injected clock", async (store, clock) => {
    clock.t = 1000;
    await put(store, sampleBlueprint("a", "one"));
    clock.t = 2000;
    await put(store, sampleBlueprint("a", "two"));
    assert.deepEqual((await store.history("a")).map((e) => e.ts_ms), [2000, 1000]);
  }],
];

/** Runs every case against a fresh store from `factory`, one `t.step` each. */
export async function runBlueprintStoreCases(
  t: Deno.TestContext,
  factory: StoreFactory,
): Promise<void> {
  for (const [name, run] of CASES) {
    await t.step(name, async () => {
      const clock = { t: 1_700_000_000_000 };
      const store = await factory.open({ now: () => clock.t });
      try {
        await run(store, clock);
      } finally {
        await factory.close();
      }
    });
  }
}
