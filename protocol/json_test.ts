import assert from "node:assert/strict";
import {
  isPlainJson,
  jsonProblem,
  jsonTextTooDeep,
  MAX_JSON_DEPTH,
  MAX_PLAIN_DEPTH,
  parsedJsonKind,
} from "./json.ts";

const nest = (n: number, inner = "1") => "[".repeat(n) + inner + "]".repeat(n);

Deno.test("jsonTextTooDeep() agrees with jsonProblem() at the depth limit", () => {
  for (const n of [1, 127, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 5_000]) {
    const text = `{"a":${nest(n - 1)}}`;
    assert.equal(jsonTextTooDeep(text), jsonProblem(JSON.parse(text)) !== undefined, `depth ${n}`);
  }
  assert.equal(jsonTextTooDeep(nest(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH + 1), false);
  assert.equal(jsonTextTooDeep(nest(MAX_JSON_DEPTH + 2), MAX_JSON_DEPTH + 1), true);
});

Deno.test("jsonTextTooDeep() skips brackets inside strings, escaped quotes included", () => {
  const brackets = JSON.stringify({ s: "[{".repeat(1_000), t: 'x\\"[[[' + "[".repeat(500) });
  assert.equal(jsonTextTooDeep(brackets), false);
  assert.equal(jsonTextTooDeep(`["\\\\",${nest(MAX_JSON_DEPTH)}]`), true);
  // 2 MiB of `[`: refused without building a million arrays
  const started = performance.now();
  assert.equal(jsonTextTooDeep("[".repeat(2 * 1024 * 1024)), true);
  assert.ok(performance.now() - started < 50);
});

Deno.test("parsedJsonKind() tells a problem, a value that fits and a plain one in one walk", () => {
  const nest = (levels: number) => JSON.parse("[".repeat(levels) + "]".repeat(levels));
  assert.equal(parsedJsonKind({ a: [1, "x", null, true, { b: {} }] }), "plain");
  assert.equal(parsedJsonKind(nest(MAX_PLAIN_DEPTH)), "plain");
  assert.equal(parsedJsonKind(nest(MAX_PLAIN_DEPTH + 1)), "fits");
  assert.equal(parsedJsonKind(nest(MAX_JSON_DEPTH)), "fits");
  assert.equal(parsedJsonKind(nest(MAX_JSON_DEPTH + 1)), "problem");
  // a __proto__ key makes a value fit, not plain, wherever it is
  assert.equal(parsedJsonKind(JSON.parse('{"a":[{"__proto__":1}]}')), "fits");
  // a problem wins over anything seen before or after it
  assert.equal(parsedJsonKind(JSON.parse('{"__proto__":1,"n":1e999}')), "problem");
  assert.equal(parsedJsonKind(JSON.parse('[1e999,{"__proto__":1}]')), "problem");
  for (const v of [nest(MAX_JSON_DEPTH + 1), JSON.parse("[1e999]")]) {
    assert.notEqual(jsonProblem(v), undefined);
  }
  assert.equal(isPlainJson({ a: 1 }), true);
  assert.equal(isPlainJson(JSON.parse('{"__proto__":{}}')), false);
});
