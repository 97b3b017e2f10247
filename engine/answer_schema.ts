/**
 * Typed answers: an `ask` may carry a JSON Schema (2020-12) that its answer must
 * validate against. Validation is Ajv's; compiled validators are cached by the
 * schema's text, a bounded number of them.
 *
 * @module
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import type { Json } from "../protocol/json.ts";
import { type Issue, issueAt, pointerPath } from "../protocol/issues.ts";
import { addStepKeyword, chargeSteps, resetSteps, withSteps } from "./_answer_budget.ts";
import { RE2JS } from "re2js";

export { AnswerCheckTooCostly } from "./_answer_budget.ts";

/** The largest answer schema accepted, as JSON text (64 KiB). */
export const MAX_SCHEMA_BYTES = 64 * 1024;

/** The patterns of one schema at most, as length × (1 + their repetition bounds). */
export const MAX_PATTERN_SIZE = 500_000;

/** How many compiled validators are kept. */
const CACHE_SIZE = 256;

/** A schema Ajv cannot compile (or one too large). */
export class AnswerSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AnswerSchemaError";
  }
}

type Validate = (value: unknown, max: number) => Issue[];

// No remote `$ref`s are loaded (no `loadSchema`), unknown keywords are ignored
// (`strict: false`), and every problem is listed (`allErrors`). Each `$ref` is
// compiled once and called (`inlineRefs: false`): inlined, a definition named n
// times compiled to n copies (an 8 KB schema took 3.9 s and 660 MB, 59 KB ran out
// of heap).
//
// Patterns run on RE2 (re2js), in time linear in the text times the size of the
// pattern's program, and each test charges that to the check's steps: V8's
// backtracking took seconds on `^(a+)+$` and 30 characters, and only terminating
// the worker ended it. RE2 refuses lookarounds and backreferences (the schema then
// does not compile) and reads `\uXXXX` as `\x{XXXX}`.
//
// RE2 compiles a counted repetition to that many copies (`[\s\S]{1000}` is 6,000
// instructions; 650 patterns of six took 10.6 s and 520 MB to compile), so the
// patterns of one schema may reach {@link MAX_PATTERN_SIZE} in all, counted before
// compiling as length × (1 + the sum of their repetition bounds), at least the
// program's size.
let patternSize = 0;
const re2 = Object.assign((pattern: string) => {
  const bounds = pattern.match(/\{\d+(,\d*)?\}/g) ?? [];
  const counts = bounds.reduce(
    (sum, b) => sum + Math.max(...(b.match(/\d+/g) ?? []).map(Number)),
    0,
  );
  patternSize += pattern.length * (1 + counts);
  if (patternSize > MAX_PATTERN_SIZE) {
    throw new Error(`patterns larger than ${MAX_PATTERN_SIZE} (length × (1 + repetitions))`);
  }
  const rx = RE2JS.compile(pattern.replace(/\\u([0-9a-fA-F]{4})/g, "\\x{$1}"));
  // re2js keeps the program's instructions here (pinned version); else the pattern's length
  const program = (rx as unknown as { re2Input?: { prog?: { inst?: unknown[] } } }).re2Input
    ?.prog?.inst?.length ?? pattern.length;
  return {
    test(text: string) {
      chargeSteps(1 + ((text.length * program) >> 6));
      return rx.test(text);
    },
    toString: () => `/${pattern}/`,
  };
}, { code: "re2js" });
const ajv = new Ajv2020({
  strict: false,
  allErrors: true,
  validateFormats: false,
  inlineRefs: false,
  code: { regExp: re2 },
});
addStepKeyword(ajv);
const cache = new Map<string, Validate>();

function compile(text: string, schema: Json): Validate {
  const hit = cache.get(text);
  if (hit) {
    cache.delete(text); // most recently used goes last
    cache.set(text, hit);
    return hit;
  }
  if (text.length > MAX_SCHEMA_BYTES) {
    throw new AnswerSchemaError(`schema larger than ${MAX_SCHEMA_BYTES} bytes`);
  }
  let check;
  try {
    // `as object`: Ajv takes any object; a non-object is refused by it below.
    patternSize = 0;
    check = ajv.compile(withSteps(schema) as object);
  } catch (err) {
    throw new AnswerSchemaError(`invalid JSON Schema: ${err instanceof Error ? err.message : err}`);
  } finally {
    // Compiled functions live on; Ajv's own registry is emptied so one schema's
    // `$id` never collides with another's.
    ajv.removeSchema();
  }
  const validate: Validate = (value, max) => {
    resetSteps();
    if (check(value)) return [];
    // Ajv's `instancePath` is a JSON pointer into the value; "" is the value itself.
    // A missing key is placed on the key itself, as zod places it (and a form shows it there).
    return (check.errors ?? []).slice(0, max).map((e) => {
      const path = pointerPath(e.instancePath, value);
      const missing = e.keyword === "required" ? e.params.missingProperty : undefined;
      if (typeof missing === "string") path.push(missing);
      return issueAt(path, e.message ?? "is invalid");
    });
  };
  cache.set(text, validate);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return validate;
}

/**
 * Checks that `schema` compiles. Throws {@link AnswerSchemaError} when it does not.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { AnswerSchemaError, checkAnswerSchema } from "./answer_schema.ts";
 * checkAnswerSchema({ type: "object", properties: { ok: { type: "boolean" } } });
 * assert.throws(() => checkAnswerSchema({ type: "nope" }), AnswerSchemaError);
 * ```
 */
export function checkAnswerSchema(schema: Json): void {
  compile(JSON.stringify(schema), schema);
}

/**
 * The reasons `value` does not validate against `schema` (the first `max`); empty
 * when it does. Throws {@link AnswerSchemaError} when the schema itself is broken.
 * Its time has no bound (a 1.4 KB schema of nested `anyOf` took 4 s on the answer
 * `1`): the server checks answers with engine/answer_check.ts, off its event loop.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { answerIssues } from "./answer_schema.ts";
 * const schema = { type: "object", required: ["ok"], properties: { ok: { type: "boolean" } } };
 * assert.deepEqual(answerIssues(schema, { ok: true }), []);
 * assert.deepEqual(answerIssues(schema, { ok: "yes" })[0].path, ["ok"]);
 * ```
 */
export function answerIssues(schema: Json, value: Json, max = Infinity): Issue[] {
  return compile(JSON.stringify(schema), schema)(value, max);
}
