import assert from "node:assert/strict";
import { isSwitchboardError } from "../../protocol/errors.ts";
import type { Issue } from "../../protocol/issues.ts";
import { normalizeBlueprint } from "./normalize.ts";
import { checkAskSchemas } from "./ask_schemas.ts";

const ask = (extra: Record<string, unknown> = {}) => ({
  id: "desk",
  flow: { kind: "ask", to: "reviewer", question: "$.draft", out: "$.verdict", ...extra },
});

Deno.test("normalizeBlueprint() compiles an ask node and keeps its schema and policy", () => {
  const bp = normalizeBlueprint(ask({
    schema: { type: "object", properties: { ok: { type: "boolean", title: "Ship it?" } } },
    timeout_secs: 60,
    on_timeout: { kind: "escalate", to: "lead", timeout_secs: 120 },
  }));
  assert.deepEqual(bp.flow, {
    kind: "ask",
    to: "reviewer",
    question: { op: "path", at: "$.draft" },
    out: { op: "path", at: "$.verdict" },
    schema: { type: "object", properties: { ok: { type: "boolean", title: "Ship it?" } } },
    timeout_secs: 60,
    on_timeout: { kind: "escalate", to: "lead", timeout_secs: 120 },
  });
});

Deno.test("normalizeBlueprint() answers 422 naming the place of a bad ask node", async (t) => {
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    [
      "on_timeout without timeout_secs",
      { on_timeout: { kind: "fail" } },
      "/flow/on_timeout",
      /needs timeout_secs/,
    ],
    [
      "an unknown policy",
      { timeout_secs: 1, on_timeout: { kind: "shrug" } },
      "/flow/on_timeout/kind",
      /./,
    ],
    ["an empty `to`", { to: "" }, "/flow/to", /./],
    ["a bad out", { out: "$.a[" }, "/flow/out", /./],
  ];
  for (const [name, extra, path, message] of cases) {
    await t.step(name, () => {
      assert.throws(() => normalizeBlueprint(ask(extra)), (err) => {
        assert.ok(isSwitchboardError(err, "invalid"), `expected a 422, got ${err}`);
        assert.match(err.message, message);
        assert.equal((err.extra as { issues: Issue[] }).issues[0].pointer, path);
        return true;
      });
    });
  }
});

Deno.test("checkAskSchemas() answers 422 naming a schema Ajv refuses, under where the Blueprint sits", async () => {
  const bp = normalizeBlueprint({
    id: "desk",
    flow: { kind: "seq", children: [ask().flow, ask({ schema: { type: 7 } }).flow] },
  });
  for (
    const [at, pointer] of [[[], "/flow/children/1/schema"], [
      ["b"],
      "/b/flow/children/1/schema",
    ]] as const
  ) {
    await assert.rejects(checkAskSchemas(bp, at), (err) => {
      assert.ok(isSwitchboardError(err, "invalid"), `expected a 422, got ${err}`);
      assert.match(err.message, /^blueprint invalid: ask schema: invalid JSON Schema/);
      assert.equal((err.extra as { issues: Issue[] }).issues[0].pointer, pointer);
      return true;
    });
  }
  await checkAskSchemas(normalizeBlueprint(ask({ schema: { type: "string" } })));
});
