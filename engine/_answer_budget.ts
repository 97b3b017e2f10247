/**
 * A bound on the work of one answer check, counted as Ajv goes: every schema
 * object gets a keyword whose check charges the steps of a visit (one, plus the
 * entries of the value times the schema's `patternProperties`), and a check
 * past {@link CHECK_STEPS} throws {@link AnswerCheckTooCostly}. Refs make a
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
    schemaType: "number",
    errors: false,
    validate: (weight: number, value: unknown) => {
      left -= 1 + weight * entries(value);
      if (left < 0) throw new AnswerCheckTooCostly();
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
  const patterns = isObj(out.patternProperties) ? Object.keys(out.patternProperties).length : 0;
  out[KEYWORD] = 1 + patterns;
  return out;
}
