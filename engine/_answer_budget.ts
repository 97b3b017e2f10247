/**
 * A bound on the work of one answer check, counted as Ajv goes: every schema
 * object gets a keyword whose check charges the steps of a visit (one, the
 * entries of `enum`, `required` and `dependentRequired`, the entries of the
 * value times those of `patternProperties`, and n²/64 for `uniqueItems` on n
 * items), and a check past {@link CHECK_STEPS} throws {@link AnswerCheckTooCostly}. Refs make a
 * schema a graph Ajv walks as a tree, so a few bytes can ask for 2^n visits (and
 * as many issues); the budget ends such a check where it stands.
 *
 * @module
 */
import type { Ajv2020 } from "ajv/dist/2020.js";

/** The steps one answer check may take (about 0.1–0.3 s of Ajv's work on an idle machine). */
export const CHECK_STEPS = 500_000;

const KEYWORD = "x-switchboard-steps";

/** A check that ran past {@link CHECK_STEPS}. */
export class AnswerCheckTooCostly extends Error {
  constructor() {
    super(`answer check took more than ${CHECK_STEPS} steps`);
    this.name = "AnswerCheckTooCostly";
  }
}

let left = CHECK_STEPS;

/** Charges `steps` to the check under way; throws past its budget. */
export function chargeSteps(steps: number): void {
  left -= steps;
  if (left < 0) throw new AnswerCheckTooCostly();
}

/** Starts the count of a new check. */
export function resetSteps(): void {
  left = CHECK_STEPS;
}

function entries(value: unknown): number {
  if (typeof value === "string") return value.length >> 6;
  if (value === null || typeof value !== "object") return 0;
  return Array.isArray(value) ? value.length : Object.keys(value).length;
}

/** Adds the counting keyword to `ajv`. */
export function addStepKeyword(ajv: Ajv2020): void {
  ajv.addKeyword({
    keyword: KEYWORD,
    schemaType: "array",
    errors: false,
    validate: ([visit, perEntry, unique]: number[], value: unknown) => {
      const n = entries(value);
      chargeSteps(visit + perEntry * n + (unique ? (n * n) >> 6 : 0));
      return true;
    },
  });
}

// Where 2020-12 (and draft 7) keywords hold schemas.
const ONE = [
  "additionalItems",
  "additionalProperties",
  "contains",
  "else",
  "if",
  "items",
  "not",
  "propertyNames",
  "then",
  "unevaluatedItems",
  "unevaluatedProperties",
];
const LIST = ["allOf", "anyOf", "oneOf", "prefixItems", "items"];
const MAP = ["$defs", "definitions", "dependentSchemas", "patternProperties", "properties"];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** `schema` with the counting keyword on every schema object (a copy; the rest shared). */
export function withSteps(schema: unknown): unknown {
  if (!isObj(schema)) return schema;
  const out: Obj = { ...schema };
  for (const k of ONE) if (isObj(out[k])) out[k] = withSteps(out[k]);
  for (const k of LIST) if (Array.isArray(out[k])) out[k] = (out[k] as unknown[]).map(withSteps);
  for (const k of MAP) {
    const map = out[k];
    if (isObj(map)) {
      out[k] = Object.fromEntries(Object.entries(map).map(([key, v]) => [key, withSteps(v)]));
    }
  }
  const count = (v: unknown) => Array.isArray(v) ? v.length : isObj(v) ? Object.keys(v).length : 0;
  const visit = 1 + count(out.enum) + count(out.required) + count(out.dependentRequired);
  out[KEYWORD] = [visit, 1 + count(out.patternProperties), out.uniqueItems === true ? 1 : 0];
  return out;
}
