import type { Json } from "../../protocol/json.ts";
import { FlowError } from "./flow_error.ts";
import { getOwn, isObject } from "./_own.ts";
import { type PathSegment, pathSegments } from "./parse_path.ts";

/**
 * Follows `segments` from `value`, starting at segment `from`. Keys match own
 * properties of objects only, indices match in-range elements of arrays only.
 * Returns `undefined` when something is missing.
 */
export function walkPath(
  value: Json,
  segments: readonly PathSegment[],
  from = 0,
): Json | undefined {
  let cur: Json | undefined = value;
  for (let i = from; i < segments.length && cur !== undefined; i++) {
    const seg = segments[i];
    if ("key" in seg) {
      cur = isObject(cur) ? getOwn(cur, seg.key) : undefined;
    } else {
      cur = Array.isArray(cur) && seg.index < cur.length ? cur[seg.index] : undefined;
    }
  }
  return cur;
}

/**
 * The value at `at` in `ctx`, not copied (callers copy before handing it out).
 * Throws `FlowError` `path not found: <at>`, or `ExprError` for bad syntax.
 */
export function readPath(ctx: Json, at: string): Json {
  const v = walkPath(ctx, pathSegments(at));
  if (v === undefined) throw new FlowError(`path not found: ${at}`, "path");
  return v;
}

/** Whether a read of `at` succeeds (also when the value is `null`). */
export function pathExists(ctx: Json, at: string): boolean {
  return walkPath(ctx, pathSegments(at)) !== undefined;
}
