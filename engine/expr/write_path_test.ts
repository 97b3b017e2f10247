import assert from "node:assert/strict";
import type { Json } from "../../protocol/json.ts";
import { ExprError, readPath, writePath } from "./mod.ts";

Deno.test("writePath() sets a key in place and creates missing intermediates", () => {
  const ctx: Json = { request: { name: "world" } };
  const root = writePath(ctx, "$.result.greeting", "hello");
  assert.equal(root, ctx);
  assert.deepEqual(ctx, { request: { name: "world" }, result: { greeting: "hello" } });
});

Deno.test("writePath() at $ replaces the whole root", () => {
  assert.equal(writePath({ a: 1 }, "$", 7), 7);
});

Deno.test("writePath() replaces non-object roots and intermediates with {}", () => {
  assert.deepEqual(writePath(null, "$.a", 1), { a: 1 });
  assert.deepEqual(writePath([1, 2], "$.a", 1), { a: 1 });
  assert.deepEqual(writePath("s", "$.a.b", 1), { a: { b: 1 } });
  assert.deepEqual(writePath({ a: [1], b: 2 }, "$.a.x", 1), { a: { x: 1 }, b: 2 });
  assert.deepEqual(writePath({ a: "str" }, "$.a.x.y", null), { a: { x: { y: null } } });
  assert.deepEqual(writePath({ a: null }, '$.a["k.j"]', 1), { a: { "k.j": 1 } });
});

Deno.test("writePath() refuses index segments before changing anything", () => {
  const ctx: Json = { a: {} };
  assert.throws(() => writePath(ctx, "$.b.c[0]", 1), (e) => {
    assert.ok(e instanceof ExprError);
    assert.equal(e.message, "write target cannot use an array index: $.b.c[0]");
    return true;
  });
  assert.deepEqual(ctx, { a: {} });
});

Deno.test("writePath() writes __proto__ as an own data key without touching prototypes", () => {
  const ctx: Json = JSON.parse('{"__proto__":{"x":1}}');
  writePath(ctx, "$.__proto__.x", 2);
  writePath(ctx, "$.__proto__.y", 3);
  assert.equal(readPath(ctx, "$.__proto__.x"), 2);
  assert.deepEqual(JSON.parse(JSON.stringify(ctx)), JSON.parse('{"__proto__":{"x":2,"y":3}}'));
  const fresh: Json = {};
  writePath(fresh, "$.__proto__.polluted", true);
  writePath(fresh, "$.constructor.prototype.polluted", true);
  assert.equal(Object.getPrototypeOf(fresh), Object.prototype);
  assert.equal(Object.hasOwn(fresh, "__proto__"), true);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(readPath(fresh, "$.__proto__.polluted"), true);
  assert.equal(
    JSON.stringify(fresh),
    '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
  );
});
