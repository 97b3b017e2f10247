import assert from "node:assert/strict";
import type { BlueprintNorm } from "../../protocol/blueprint.ts";
import { FIXTURE_A, FIXTURE_B, FIXTURE_B_TEXT, FIXTURE_C, FIXTURE_C2 } from "./_fixtures.ts";
import { normalizeBlueprint, validateBlueprintId } from "./normalize.ts";
import { blueprintVersion } from "./version.ts";

const MINIMAL = {
  id: "min",
  flow: { kind: "seq", children: [] },
};

Deno.test("normalizeBlueprint materializes every default of a minimal document", () => {
  const expected: BlueprintNorm = {
    schema_version: "0.1.0",
    id: "min",
    flow: { kind: "seq", children: [] },
    agents: [],
    operators: [],
    hints: { per_agent: {} },
    strategy: { strict_refs: true, strict_kind: true },
    metadata: { origin: { kind: "inline" }, tags: [] },
    spawner_hints: { layers: [] },
    default_agent_kind: "operator",
  };
  assert.deepEqual(normalizeBlueprint(MINIMAL), expected);
});

Deno.test("normalizeBlueprint fills profile and meta defaults", () => {
  const bp = normalizeBlueprint({
    ...MINIMAL,
    agents: [{ name: "a", kind: "rust_fn", spec: { fn_id: "x" }, profile: {}, meta: {} }],
    operators: [{ name: "o", profile: {}, meta: {} }],
  });
  assert.deepEqual(bp.agents[0], {
    name: "a",
    kind: "rust_fn",
    spec: { fn_id: "x" },
    profile: { system_prompt: "", tools: [] },
    meta: { tags: [] },
  });
  assert.deepEqual(bp.operators[0], {
    name: "o",
    profile: { system_prompt: "", tools: [] },
    meta: { tags: [] },
  });
});

Deno.test("normalizeBlueprint removes schema keys holding null and keeps nulls in free-form values", () => {
  const bp = normalizeBlueprint({
    id: "nulls",
    flow: {
      kind: "try",
      body: {
        kind: "assign",
        at: { op: "path", at: "$.x" },
        value: { op: "lit", value: { keep: null } },
      },
      catch: { kind: "seq", children: [] },
      err_at: null,
    },
    agents: [
      {
        name: "a",
        kind: "operator",
        spec: { operator_ref: "o", extra: null },
        profile: {
          model: null,
          effort: null,
          description: null,
          version_hash: null,
          extras: { k: null },
        },
        meta: { description: null, version: null },
      },
      { name: "b", kind: "rust_fn", spec: { fn_id: "b" }, profile: null, meta: null },
    ],
    operators: [{
      name: "o",
      display_name: null,
      kind: null,
      spec: null,
      profile: null,
      meta: null,
    }],
    hints: { per_agent: { a: null, b: { deep: null } }, global: null },
    metadata: {
      description: null,
      version_label: null,
      project_name_alias: null,
      default_run_ttl_secs: null,
    },
    default_operator_kind: null,
  });
  assert.deepEqual(bp.flow, {
    kind: "try",
    body: {
      kind: "assign",
      at: { op: "path", at: "$.x" },
      value: { op: "lit", value: { keep: null } },
    },
    catch: { kind: "seq", children: [] },
  });
  assert.deepEqual(bp.agents, [
    {
      name: "a",
      kind: "operator",
      spec: { operator_ref: "o", extra: null },
      profile: { system_prompt: "", tools: [], extras: { k: null } },
      meta: { tags: [] },
    },
    { name: "b", kind: "rust_fn", spec: { fn_id: "b" } },
  ]);
  assert.deepEqual(bp.operators, [{ name: "o" }]);
  assert.deepEqual(bp.hints, { per_agent: { a: null, b: { deep: null } } });
  assert.deepEqual(bp.metadata, { origin: { kind: "inline" }, tags: [] });
  assert.equal("default_operator_kind" in bp, false);
});

Deno.test("explicit defaults and omitted defaults give the same version", async () => {
  const omitted = {
    id: "same",
    flow: { kind: "step", ref: "a", in: "$.x", out: "$.y" },
    agents: [{ name: "a", spec: { operator_ref: "o" }, profile: {} }],
    operators: [{ name: "o" }],
  };
  const explicit = {
    schema_version: "0.1.0",
    id: "same",
    flow: { kind: "step", ref: "a", in: { op: "path", at: "$.x" }, out: { op: "path", at: "$.y" } },
    agents: [{
      name: "a",
      kind: "operator",
      spec: { operator_ref: "o" },
      profile: { system_prompt: "", tools: [], model: null, extras: null },
      meta: null,
    }],
    operators: [{ name: "o", kind: null, display_name: null }],
    hints: { per_agent: {}, global: null },
    strategy: { strict_refs: true, strict_kind: true },
    metadata: { origin: { kind: "inline", ignored: "extra key" }, tags: [], description: null },
    spawner_hints: { layers: [] },
    default_agent_kind: "operator",
    default_operator_kind: null,
  };
  const a = normalizeBlueprint(omitted);
  const b = normalizeBlueprint(explicit);
  assert.deepEqual(a, b);
  assert.equal(await blueprintVersion(a), await blueprintVersion(b));
});

Deno.test("text expressions compile to the same trees and version as fixture B", async () => {
  const tree = normalizeBlueprint(FIXTURE_B);
  const text = normalizeBlueprint(FIXTURE_B_TEXT);
  assert.deepEqual(text, tree);
  assert.equal(await blueprintVersion(text), await blueprintVersion(tree));
});

Deno.test("the fixtures of §5 normalize and stay unchanged when normalized again", async (t) => {
  const fixtures = { A: FIXTURE_A, B: FIXTURE_B, C: FIXTURE_C, C2: FIXTURE_C2 };
  for (const [name, doc] of Object.entries(fixtures)) {
    await t.step(name, async () => {
      const bp = normalizeBlueprint(doc);
      assert.equal(bp.id, doc.id);
      const again = normalizeBlueprint(JSON.parse(JSON.stringify(bp)));
      assert.deepEqual(again, bp);
      assert.equal(await blueprintVersion(again), await blueprintVersion(bp));
    });
  }
  const a = normalizeBlueprint(FIXTURE_A);
  assert.deepEqual(a.metadata, {
    origin: { kind: "inline" },
    tags: [],
    version_label: "1.0.0",
    default_run_ttl_secs: 60,
  });
  assert.deepEqual(a.flow, {
    kind: "step",
    ref: "greeter",
    in: { op: "path", at: "$.request" },
    out: { op: "path", at: "$.result.greeting" },
  });
});

Deno.test("normalizeBlueprint canonicalizes paths in trees and text", () => {
  const bp = normalizeBlueprint({
    id: "paths",
    flow: {
      kind: "seq",
      children: [
        { kind: "assign", at: { op: "path", at: '$["mock-gate"].v' }, value: '$["a b"]' },
        { kind: "assign", at: "$.x", value: { op: "exists", at: '$["k"]' } },
      ],
    },
  });
  assert.deepEqual(bp.flow, {
    kind: "seq",
    children: [
      {
        kind: "assign",
        at: { op: "path", at: "$.mock-gate.v" },
        value: { op: "path", at: "$.a b" },
      },
      { kind: "assign", at: { op: "path", at: "$.x" }, value: { op: "exists", at: "$.k" } },
    ],
  });
});

Deno.test("AgentDef.kind is filled from the document, then the server default, then operator", () => {
  const doc = {
    id: "kinds",
    flow: { kind: "seq", children: [] },
    agents: [{ name: "a", spec: { fn_id: "f", operator_ref: "o" } }],
    operators: [{ name: "o" }],
  };
  assert.equal(normalizeBlueprint(doc).agents[0].kind, "operator");
  assert.equal(normalizeBlueprint(doc, { defaultAgentKind: "rust_fn" }).agents[0].kind, "rust_fn");
  const withDefault = { ...doc, default_agent_kind: "rust_fn" };
  const bp = normalizeBlueprint(withDefault, { defaultAgentKind: "operator" });
  assert.equal(bp.agents[0].kind, "rust_fn");
  assert.equal(bp.default_agent_kind, "rust_fn");
  const explicit = {
    ...withDefault,
    agents: [{ name: "a", kind: "operator", spec: { operator_ref: "o" } }],
  };
  assert.equal(normalizeBlueprint(explicit).agents[0].kind, "operator");
});

Deno.test("normalizeBlueprint keeps __proto__ keys of free-form values as data", async () => {
  const doc = JSON.parse(`{
    "id": "proto",
    "flow": {"kind": "assign", "at": "$.x", "value": {"op": "lit", "value": {"__proto__": {"polluted": 1}}}},
    "agents": [{"name": "a", "kind": "rust_fn", "spec": {"fn_id": "f", "__proto__": {"y": 2}}}],
    "hints": {"per_agent": {"__proto__": {"z": 3}}}
  }`);
  const bp = normalizeBlueprint(doc);
  const spec = bp.agents[0].spec as Record<string, unknown>;
  assert.deepEqual(Object.keys(spec), ["fn_id", "__proto__"]);
  assert.equal(Object.getPrototypeOf(spec), Object.prototype);
  assert.deepEqual(Object.keys(bp.hints.per_agent), ["__proto__"]);
  const flow = bp.flow as { value: { value: Record<string, unknown> } };
  assert.deepEqual(Object.keys(flow.value.value), ["__proto__"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.match(await blueprintVersion(bp), /^[0-9a-f]{64}$/);
});

Deno.test("normalizeBlueprint does not share objects with its input", () => {
  const doc = structuredClone(FIXTURE_A);
  const bp = normalizeBlueprint(doc);
  doc.agents[0].spec.fn_id = "changed";
  assert.deepEqual(bp.agents[0].spec, { fn_id: "greeter" });
});

Deno.test("validateBlueprintId accepts ids of the §4.1 pattern only", () => {
  for (const id of ["main", "a", "A-1_b.c", "9", "x".repeat(128)]) {
    assert.equal(validateBlueprintId(id), true, id);
  }
  for (const id of ["", "-a", ".a", "_a", "a/b", "..", "a b", "é", "x".repeat(129), "a\n"]) {
    assert.equal(validateBlueprintId(id), false, JSON.stringify(id));
  }
});
