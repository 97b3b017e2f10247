/**
 * Issues: why a value was refused, and where. Every `issues` list the server
 * sends (a 422 or 400 body, an `error` frame) holds {@link Issue}s, built by
 * {@link issueAt} alone so that the path and the pointer always agree.
 *
 * @module
 */
import { z } from "./zod.ts";

/** One step of an issue's path: an object key, or an array index (a number). */
export const IssueKey = z.union([z.string(), z.number()]);
export type IssueKey = z.infer<typeof IssueKey>;

/** One problem: zod's `path` (`[]` for the value itself), the same place as a JSON pointer, and a message. */
export const Issue = z.object({
  path: z.array(IssueKey).meta({
    description:
      'zod\'s path: the keys and indexes from the root, `[]` for the root (`["roles", 0]`).',
  }),
  pointer: z.string().meta({
    description: 'The same place as an RFC 6901 JSON pointer, `""` for the root (`/roles/0`).',
  }),
  message: z.string(),
});
export type Issue = z.infer<typeof Issue>;

/** A path step as validators give it: a key, or Standard Schema's `{key}` segment. */
export type PathSegment = PropertyKey | { readonly key: PropertyKey };

function keyOf(segment: PathSegment): IssueKey {
  const key = typeof segment === "object" ? segment.key : segment;
  return typeof key === "number" ? key : String(key);
}

/**
 * The RFC 6901 JSON pointer of `path` (`~` and `/` escaped); the root is `""`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonPointer } from "./issues.ts";
 * assert.equal(jsonPointer(["roles", 0]), "/roles/0");
 * assert.equal(jsonPointer(["a/b", "c~d"]), "/a~1b/c~0d");
 * assert.equal(jsonPointer([]), "");
 * ```
 */
export function jsonPointer(path: readonly IssueKey[]): string {
  let out = "";
  for (const key of path) out += "/" + String(key).replaceAll("~", "~0").replaceAll("/", "~1");
  return out;
}

/**
 * The issue `message` at `path` (keys from the root, as zod or Standard Schema
 * give them; symbols become their text).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { issueAt } from "./issues.ts";
 * assert.deepEqual(issueAt(["roles", 0], "expected string"), {
 *   path: ["roles", 0],
 *   pointer: "/roles/0",
 *   message: "expected string",
 * });
 * ```
 */
export function issueAt(path: readonly PathSegment[], message: string): Issue {
  const keys = path.map(keyOf);
  return { path: keys, pointer: jsonPointer(keys), message };
}

/**
 * The path of a JSON pointer into `value` (as Ajv's `instancePath` names a place
 * in the value it checked): a step into an array is a number, as zod writes it.
 * `""` is the root; `"/"` is the key `""`.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { pointerPath } from "./issues.ts";
 * assert.deepEqual(pointerPath("/roles/0", { roles: ["x"] }), ["roles", 0]);
 * assert.deepEqual(pointerPath("/a~1b", {}), ["a/b"]);
 * assert.deepEqual(pointerPath("", 1), []);
 * ```
 */
export function pointerPath(pointer: string, value: unknown): IssueKey[] {
  if (pointer === "") return [];
  const path: IssueKey[] = [];
  let at = value;
  for (const token of pointer.slice(1).split("/")) {
    const key = token.replaceAll("~1", "/").replaceAll("~0", "~");
    if (Array.isArray(at) && /^(0|[1-9]\d*)$/.test(key)) {
      path.push(Number(key));
      at = at[Number(key)];
    } else {
      path.push(key);
      at = typeof at === "object" && at !== null && Object.hasOwn(at, key)
        ? (at as Record<string, unknown>)[key] // an own key of an object, checked here
        : undefined;
    }
  }
  return path;
}
