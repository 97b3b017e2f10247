import assert from "node:assert/strict";
import type { Json } from "../protocol/json.ts";
import {
  AnswerCheckTooCostly,
  answerIssues,
  AnswerSchemaError,
  checkAnswerSchema,
} from "./answer_schema.ts";

Deno.test("answerIssues() lists every issue with zod's path and its JSON pointer", () => {
  const schema = {
    type: "object",
    required: ["decision", "note"],
    properties: {
      decision: { type: "string", enum: ["ship", "hold"] },
      note: { type: "string" },
    },
  };
  assert.deepEqual(answerIssues(schema, { decision: "ship", note: "fine" }), []);
  const issues = answerIssues(schema, { decision: "maybe" });
  assert.deepEqual(issues.map(({ path, pointer }) => ({ path, pointer })), [
    { path: ["note"], pointer: "/note" }, // a missing key is placed on the key, as zod does
    { path: ["decision"], pointer: "/decision" },
  ]);
  assert.deepEqual(answerIssues({ type: "integer" }, "x"), [
    { path: [], pointer: "", message: "must be integer" },
  ]);
});

Deno.test("answerIssues() writes array indexes as numbers and unescapes keys", () => {
  const schema = {
    type: "object",
    properties: {
      items: { type: "array", items: { type: "object", properties: { n: { type: "integer" } } } },
      "a/b~c": { type: "boolean" },
      "": { type: "string" },
      "0": { type: "string" },
    },
  };
  const issues = answerIssues(schema, { items: [{ n: 1 }, { n: "x" }], "a/b~c": 1, "": 2, "0": 3 });
  assert.deepEqual(issues.map(({ path, pointer }) => ({ path, pointer })), [
    { path: ["0"], pointer: "/0" }, // an object's key stays a string (listed first, as JS orders keys)
    { path: ["items", 1, "n"], pointer: "/items/1/n" },
    { path: ["a/b~c"], pointer: "/a~1b~0c" },
    { path: [""], pointer: "/" }, // the key "", not the root
  ]);
});

Deno.test("checkAnswerSchema() refuses a broken schema and lets two schemas share an $id", () => {
  assert.throws(() => checkAnswerSchema({ type: 12 }), AnswerSchemaError);
  checkAnswerSchema({ $id: "https://x.invalid/a", type: "string" });
  assert.deepEqual(answerIssues({ $id: "https://x.invalid/a", type: "number" }, 1), []);
});

Deno.test("answerIssues() ends a check past its step budget, and counts no more than the work", () => {
  // refs make a graph that Ajv walks as a tree: 2^40 visits of `1`
  const defs: Record<string, Json> = { a40: { type: "null" } };
  for (let i = 0; i < 40; i++) {
    defs[`a${i}`] = { anyOf: [{ $ref: `#/$defs/a${i + 1}` }, { $ref: `#/$defs/a${i + 1}` }] };
  }
  assert.throws(() => answerIssues({ $defs: defs, $ref: "#/$defs/a0" }, 1), AnswerCheckTooCostly);
  // 20,000 keys against 200 patterns: 4 M tests, one visit
  const patternProperties = Object.fromEntries(
    Array.from({ length: 200 }, (_, i) => [`^k${i}$`, true]),
  );
  const wide = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`z${i}`, i]));
  assert.throws(() => answerIssues({ patternProperties }, wide), AnswerCheckTooCostly);
  // a large honest answer passes: 20,000 objects of two fields
  const items = { type: "object", properties: { a: { type: "string" }, b: { type: "integer" } } };
  const rows = Array.from({ length: 20_000 }, (_, i) => ({ a: `x${i}`, b: i }));
  assert.deepEqual(answerIssues({ type: "array", items }, rows), []);
});

Deno.test("answerIssues() runs patterns in linear time and counts uniqueItems by its pairs", () => {
  const evil = { type: "string", pattern: "^(a+)+$" }; // seconds on 30 characters, backtracking
  assert.equal(answerIssues(evil, `${"a".repeat(100_000)}!`).length, 1);
  assert.deepEqual(answerIssues({ type: "string", pattern: "^\\u00e9\\p{L}$" }, "éa"), []);
  assert.throws(() => checkAnswerSchema({ type: "string", pattern: "^(?=a)" }), AnswerSchemaError);
  // RE2's time is the text's length times the program's: 6,000 instructions here
  const wide = { type: "string", pattern: "[\\s\\S]{1000}".repeat(6) };
  assert.throws(() => answerIssues(wide, "a".repeat(100_000)), AnswerCheckTooCostly);
  // and its programs are bounded when compiled: 60,000 instructions
  const wider = { type: "string", pattern: "[\\s\\S]{1000}".repeat(60) };
  assert.throws(() => checkAnswerSchema(wider), /patterns larger than 500000/);
  checkAnswerSchema({ type: "string", pattern: "^[a-z0-9]{1,64}(\\.[a-z0-9]{1,64}){0,10}$" });
  const unique = { type: "array", uniqueItems: true };
  assert.deepEqual(answerIssues(unique, Array.from({ length: 2_000 }, (_, i) => [i])), []);
  assert.throws(
    () => answerIssues(unique, Array.from({ length: 20_000 }, (_, i) => [i])),
    AnswerCheckTooCostly,
  );
});
