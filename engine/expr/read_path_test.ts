import assert from "node:assert/strict";
import type { Json } from "../../protocol/json.ts";
import { ExprError, FlowError, pathExists, readPath, walkPath } from "./mod.ts";

const ctx: Json = {
  a: { b: 1, n: null },
  items: [{ name: "x" }],
  "x.y": 2,
  "mock-gate": { v: true },
};

Deno.test("readPath() follows keys and indices", () => {
  assert.deepEqual(readPath(ctx, "$"), ctx);
  assert.equal(readPath(ctx, "$.a.b"), 1);
  assert.equal(readPath(ctx, "$.a.n"), null);
  assert.equal(readPath(ctx, "$.items[0].name"), "x");
  assert.equal(readPath(ctx, '$["x.y"]'), 2);
  assert.equal(readPath(ctx, "$.mock-gate.v"), true);
});

Deno.test("readPath() fails with path not found for missing keys, bad containers and bad indices", async (t) => {
  for (
    const at of [
      "$.zz",
      "$.a.b.c",
      "$.items.0",
      "$.items[1]",
      "$.a[0]",
      "$.x.y",
      "$.a.toString",
      "$.a.constructor",
    ]
  ) {
    await t.step(at, () => {
      assert.throws(() => readPath(ctx, at), (e) => {
        assert.ok(e instanceof FlowError);
        assert.equal(e.kind, "path");
        assert.equal(e.message, `path not found: ${at}`);
        return true;
      });
    });
  }
});

Deno.test("readPath() reports the path as written, not canonicalized", () => {
  assert.throws(() => readPath(ctx, '$["nope"]'), { message: 'path not found: $["nope"]' });
});

Deno.test("readPath() refuses bad syntax with ExprError", () => {
  assert.throws(() => readPath(ctx, "$foo"), ExprError);
});

Deno.test("pathExists() is true for null values and false for missing ones", () => {
  assert.equal(pathExists(ctx, "$.a.n"), true);
  assert.equal(pathExists(ctx, "$.a.zz"), false);
  assert.equal(pathExists(null, "$"), true);
  assert.equal(pathExists(null, "$.a"), false);
  assert.equal(walkPath(ctx, [{ key: "a" }, { key: "b" }]), 1);
});

Deno.test("readPath() treats __proto__, constructor and prototype as own data only", () => {
  const polluted: Json = JSON.parse('{"__proto__":{"x":1},"constructor":{"prototype":2}}');
  assert.equal(readPath(polluted, "$.__proto__.x"), 1);
  assert.equal(readPath(polluted, "$.constructor.prototype"), 2);
  assert.throws(() => readPath({}, "$.__proto__"), { message: "path not found: $.__proto__" });
  assert.throws(() => readPath({}, "$.hasOwnProperty"), FlowError);
  assert.throws(() => readPath([], "$.length"), FlowError);
  assert.throws(() => readPath("abc", "$.length"), FlowError);
});
