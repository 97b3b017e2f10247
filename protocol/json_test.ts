import assert from "node:assert/strict";
import { jsonProblem, jsonTextTooDeep, MAX_JSON_DEPTH } from "./json.ts";

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
