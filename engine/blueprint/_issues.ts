/**
 * Readable issues for Blueprint documents: zod issues without the union noise (an
 * Expr position that got an object reports the tree's problem, not "expected
 * string").
 *
 * @module
 */
import type { z } from "zod";
import { type Issue, issueAt, type IssueKey as Key } from "../../protocol/issues.ts";
import { Blueprint } from "../../protocol/blueprint.ts";

/** Readable issues for a failed zod parse of `input`, in zod's order. */
export function zodIssues(error: z.ZodError, input: unknown): Issue[] {
  return error.issues.flatMap((issue) => flatten(issue, [], input));
}

/**
 * The readable issues of a Blueprint document under `at` (its place in a request
 * body), as registration words them; undefined when the schema accepts it.
 */
export function blueprintIssues(document: unknown, at: readonly Key[] = []): Issue[] | undefined {
  const parsed = Blueprint.safeParse(document);
  if (parsed.success) return undefined;
  return zodIssues(parsed.error, document).map((i) => issueAt([...at, ...i.path], i.message));
}

function valueAt(input: unknown, keys: readonly Key[]): unknown {
  let v = input;
  for (const k of keys) {
    if (typeof v !== "object" || v === null || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<Key, unknown>)[k]; // an own key of an object, checked above
  }
  return v;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function keysOf(path: readonly PropertyKey[]): Key[] {
  return path.map((k) => (typeof k === "number" ? k : String(k)));
}

const JSON_TYPES = ["string", "number", "boolean", "null", "array", "object"];

function flatten(issue: z.core.$ZodIssue, base: readonly Key[], input: unknown): Issue[] {
  const keys = [...base, ...keysOf(issue.path)];
  const value = valueAt(input, keys);
  switch (issue.code) {
    case "invalid_union":
      return flattenUnion(issue, keys, input, value);
    case "invalid_type": {
      if (value === undefined) return [issueAt(keys, "required")];
      const expected = issue.expected === "record" ? "object" : issue.expected;
      return [issueAt(keys, `expected ${expected}, got ${typeName(value)}`)];
    }
    case "unrecognized_keys":
      return issue.keys.map((key) => issueAt([...keys, key], "unknown key"));
    case "invalid_value": {
      const options = issue.values.map((v) => JSON.stringify(v)).join(", ");
      const message = `invalid value ${
        JSON.stringify(value) ?? "undefined"
      }: expected one of ${options}`;
      return [issueAt(keys, message)];
    }
    default:
      return [issueAt(keys, issue.message)];
  }
}

function flattenUnion(
  issue: z.core.$ZodIssueInvalidUnion,
  keys: Key[],
  input: unknown,
  value: unknown,
): Issue[] {
  if (issue.errors.length === 0) {
    // a discriminated union whose tag matched no option; the path ends at the tag
    const tag = String(keys.at(-1));
    const options = "options" in issue && Array.isArray(issue.options)
      ? issue.options.join(", ")
      : "";
    const message = value === undefined
      ? `missing tag '${tag}' (one of: ${options})`
      : `unknown ${tag} ${JSON.stringify(value)} (expected one of: ${options})`;
    return [issueAt(keys, message)];
  }
  // drop the options that failed only because the value had another type
  const fits = issue.errors.filter((branch) =>
    !branch.every((i) => i.code === "invalid_type" && i.path.length === 0)
  );
  if (fits.length === 0) {
    if (value === undefined) return [issueAt(keys, "required")];
    const expected = new Set<string>();
    for (const branch of issue.errors) {
      for (const i of branch) {
        if (i.code === "invalid_type") {
          expected.add(i.expected === "record" ? "object" : i.expected);
        }
      }
    }
    const what = JSON_TYPES.every((t) => expected.has(t))
      ? "a JSON value"
      : [...expected].join(" or ");
    return [issueAt(keys, `expected ${what}, got ${typeName(value)}`)];
  }
  // of the options that fit, report the one whose first problem lies deepest
  let best: Issue[] = [];
  let bestDepth = -1;
  for (const branch of fits) {
    const flat = branch.flatMap((i) => flatten(i, keys, input));
    const depth = flat.length === 0 ? -1 : flat[0].path.length;
    if (depth > bestDepth) {
      best = flat;
      bestDepth = depth;
    }
  }
  return best;
}
