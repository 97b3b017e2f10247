import assert from "node:assert/strict";
import type { Json } from "../../protocol/json.ts";
import {
  compactJson,
  compareKeys,
  copyJson,
  directiveText,
  isTruthy,
  jsonEquals,
  sortedKeys,
} from "./mod.ts";

Deno.test("isTruthy() treats only null and false as falsy", () => {
  for (const v of [0, "", [], {}, true, 1, "false"]) assert.equal(isTruthy(v), true);
  assert.equal(isTruthy(null), false);
  assert.equal(isTruthy(false), false);
});

Deno.test("jsonEquals() compares deeply, ignoring key order and numeric spelling", () => {
  assert.equal(jsonEquals({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 }), true);
  assert.equal(jsonEquals(3, 3.0), true);
  assert.equal(jsonEquals(1 + 2, 3), true);
  assert.equal(jsonEquals([1, 2], [2, 1]), false);
  assert.equal(jsonEquals({}, []), false);
  assert.equal(jsonEquals([], {}), false);
  assert.equal(jsonEquals({ a: 1 }, { a: 1, b: 2 }), false);
  assert.equal(jsonEquals({ a: undefined } as unknown as Json, { b: 1 }), false);
  assert.equal(jsonEquals(null, {}), false);
  assert.equal(jsonEquals("1", 1), false);
  assert.equal(jsonEquals(JSON.parse('{"__proto__":1}'), {}), false);
  assert.equal(jsonEquals(JSON.parse('{"__proto__":1}'), JSON.parse('{"__proto__":1}')), true);
});

Deno.test("compactJson() sorts keys recursively and has no whitespace", () => {
  assert.equal(compactJson({ name: "world", lang: "en" }), '{"lang":"en","name":"world"}');
  assert.equal(
    compactJson({ b: [3, { z: 1, a: 2 }], a: null }),
    '{"a":null,"b":[3,{"a":2,"z":1}]}',
  );
  assert.equal(compactJson("NO"), '"NO"');
  assert.equal(compactJson(1.5), "1.5");
  assert.equal(compactJson([]), "[]");
  assert.equal(compactJson({}), "{}");
  assert.equal(
    compactJson(JSON.parse('{"b":1,"__proto__":{"x":1}}')),
    '{"__proto__":{"x":1},"b":1}',
  );
});

Deno.test("compareKeys() orders by code point, like UTF-8 bytes", () => {
  assert.ok(compareKeys("B", "a") < 0);
  assert.ok(compareKeys("a", "ab") < 0);
  assert.ok(compareKeys("\uffff", "\u{10000}") < 0); // UTF-16 order would say the opposite
  assert.deepEqual(sortedKeys({ "\u{1F600}": 1, "\uff21": 2, a: 3 }), ["a", "\uff21", "\u{1F600}"]);
});

Deno.test("directiveText() keeps strings verbatim and compacts the rest", () => {
  assert.equal(directiveText("fix the login bug"), "fix the login bug");
  assert.equal(directiveText({ name: "world", lang: "en" }), '{"lang":"en","name":"world"}');
  assert.equal(directiveText(null), "null");
  assert.equal(directiveText(3), "3");
  assert.equal(directiveText([true]), "[true]");
});

Deno.test("copyJson() copies deeply and keeps own __proto__ keys as data", () => {
  const v: Json = JSON.parse('{"__proto__":{"x":[1,{"y":2}]},"a":[{"b":1}]}');
  const c = copyJson(v);
  assert.deepEqual(c, v);
  assert.equal(Object.hasOwn(c as object, "__proto__"), true);
  assert.equal(Object.getPrototypeOf(c), Object.prototype);
  (v as { a: { b: number }[] }).a[0].b = 9;
  assert.deepEqual((c as { a: { b: number }[] }).a[0], { b: 1 });
  assert.equal(copyJson(null), null);
  assert.equal(copyJson("s"), "s");
});
