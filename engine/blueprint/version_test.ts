import assert from "node:assert/strict";
import { FIXTURE_A } from "./_fixtures.ts";
import { normalizeBlueprint } from "./normalize.ts";
import { blueprintVersion, canonicalBlueprintJson } from "./version.ts";

Deno.test("blueprintVersion is the SHA-256 hex of the RFC 8785 text", async () => {
  const bp = normalizeBlueprint(FIXTURE_A);
  const text = canonicalBlueprintJson(bp);
  assert.ok(
    text.startsWith('{"agents":[{"kind":"rust_fn","name":"greeter","spec":{"fn_id":"greeter"}}]'),
  );
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(await blueprintVersion(bp), hex);
  assert.match(hex, /^[0-9a-f]{64}$/);
});

Deno.test("blueprintVersion ignores key order and changes with content", async () => {
  const bp = normalizeBlueprint(FIXTURE_A);
  const reordered = normalizeBlueprint({
    metadata: { default_run_ttl_secs: 60, version_label: "1.0.0" },
    agents: [{ spec: { fn_id: "greeter" }, kind: "rust_fn", name: "greeter" }],
    flow: {
      out: { at: "$.result.greeting", op: "path" },
      in: { at: "$.request", op: "path" },
      ref: "greeter",
      kind: "step",
    },
    id: "fx-single-step",
  });
  assert.equal(await blueprintVersion(reordered), await blueprintVersion(bp));
  const changed = normalizeBlueprint({ ...FIXTURE_A, metadata: { version_label: "1.0.1" } });
  assert.notEqual(await blueprintVersion(changed), await blueprintVersion(bp));
});

Deno.test("blueprintVersion writes numbers the JCS way", () => {
  const bp = normalizeBlueprint({
    id: "n",
    flow: { kind: "assign", at: "$.x", value: { op: "lit", value: [1.0, 1e21, 0.1, -0] } },
  });
  assert.match(canonicalBlueprintJson(bp), /\[1,1e\+21,0\.1,0\]/);
});
