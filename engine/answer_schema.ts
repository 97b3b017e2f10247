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
import { addStepKeyword, resetSteps, withSteps } from "./_answer_budget.ts";

export { AnswerCheckTooCostly } from "./_answer_budget.ts";

/** The largest answer schema accepted, as JSON text (64 KiB). */
export const MAX_SCHEMA_BYTES = 64 * 1024;

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
const ajv = new Ajv2020({
  strict: false,
  allErrors: true,
  validateFormats: false,
  inlineRefs: false,
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
