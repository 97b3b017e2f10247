import assert from "node:assert/strict";
import { Issue, issueAt, jsonPointer, pointerPath } from "./issues.ts";

Deno.test("issueAt() gives zod's path and the same place as a JSON pointer", () => {
  assert.deepEqual(issueAt([], "bad"), { path: [], pointer: "", message: "bad" });
  assert.deepEqual(issueAt(["roles", 0], "bad"), {
    path: ["roles", 0],
    pointer: "/roles/0",
    message: "bad",
  });
  // Standard Schema's `{key}` segments and symbols become plain keys
  assert.deepEqual(issueAt([{ key: "a" }, { key: 2 }, Symbol.for("s")], "bad").path, [
    "a",
    2,
    "Symbol(s)",
  ]);
  assert.ok(Issue.safeParse(issueAt(["a", 1], "bad")).success);
});

Deno.test("jsonPointer() escapes ~ and / (RFC 6901) and writes the root as an empty string", () => {
  assert.equal(jsonPointer([]), "");
  assert.equal(jsonPointer([""]), "/");
  assert.equal(jsonPointer(["a/b", "~1", 3]), "/a~1b/~01/3");
});

Deno.test("pointerPath() reads a pointer back into the value's keys, indexes as numbers", () => {
  const value = { list: [{ "a/b": [true] }], "0": { "~": 1 } };
  assert.deepEqual(pointerPath("", value), []);
  assert.deepEqual(pointerPath("/", value), [""]);
  assert.deepEqual(pointerPath("/list/0/a~1b/0", value), ["list", 0, "a/b", 0]);
  assert.deepEqual(pointerPath("/0/~0", value), ["0", "~"]);
  // past the value's end (a missing key), steps stay strings
  assert.deepEqual(pointerPath("/nope/0", value), ["nope", "0"]);
  for (const path of [["list", 0, "a/b", 0], ["0", "~"], [""]]) {
    assert.deepEqual(pointerPath(jsonPointer(path), value), path);
  }
});
