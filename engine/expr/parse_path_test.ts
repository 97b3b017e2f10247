import assert from "node:assert/strict";
import { canonicalPath, ExprError, formatPath, parsePath } from "./mod.ts";

Deno.test("parsePath() reads the root, names, bracket keys and indices", () => {
  assert.deepEqual(parsePath("$"), []);
  assert.deepEqual(parsePath("$.a.b"), [{ key: "a" }, { key: "b" }]);
  assert.deepEqual(parsePath('$["x.y"]'), [{ key: "x.y" }]);
  assert.deepEqual(parsePath("$.items[0].name"), [{ key: "items" }, { index: 0 }, { key: "name" }]);
  assert.deepEqual(parsePath("$.mock-gate.v"), [{ key: "mock-gate" }, { key: "v" }]);
  assert.deepEqual(parsePath("$.a b.0"), [{ key: "a b" }, { key: "0" }]);
  assert.deepEqual(parsePath('$["a\\"b"][12]'), [{ key: 'a"b' }, { index: 12 }]);
  assert.deepEqual(parsePath('$["\\u00e9"]'), [{ key: "é" }]);
});

Deno.test("parsePath() refuses malformed paths with invalid path syntax", async (t) => {
  for (
    const at of [
      "",
      "a",
      "$.",
      "$a",
      "$.a..b",
      "$.a.",
      '$[""]',
      "$[01]",
      "$[-1]",
      "$[a]",
      '$["a"',
      '$["a]',
      "$[1",
      "$]",
      '$."a"',
      "$.a[0]x",
      "$[99999999999999999999]",
    ]
  ) {
    await t.step(JSON.stringify(at), () => {
      assert.throws(() => parsePath(at), (e) => {
        assert.ok(e instanceof ExprError);
        assert.equal(e.kind, "path");
        assert.equal(e.message, `invalid path syntax: ${at}`);
        return true;
      });
    });
  }
});

Deno.test("canonicalPath() writes valid names with dots and others in brackets", () => {
  assert.equal(canonicalPath('$["mock-gate"].v'), "$.mock-gate.v");
  assert.equal(canonicalPath('$["x.y"]["a[b]"]'), '$["x.y"]["a[b]"]');
  assert.equal(canonicalPath('$["say \\"hi\\""]'), '$["say \\"hi\\""]');
  assert.equal(canonicalPath("$.items[0].name"), "$.items[0].name");
  assert.equal(canonicalPath("$"), "$");
  assert.equal(formatPath([{ key: "a]b" }, { index: 3 }]), '$["a]b"][3]');
  assert.equal(formatPath([{ key: "a\nb" }]), "$.a\nb"); // any character but . [ ] " is a name
});
