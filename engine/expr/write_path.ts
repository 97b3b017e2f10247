import type { Json, JsonObject } from "../../protocol/json.ts";
import { ExprError } from "./expr_error.ts";
import { getOwn, isObject, setOwn } from "./_own.ts";
import { pathSegments } from "./parse_path.ts";
import { rememberSetSize } from "./json_bytes.ts";

/**
 * Writes `value` at `at` in place and returns the (possibly new) root. `$` replaces
 * the root. As in 0.1.2, a missing intermediate becomes `{}` and any non-object met
 * on the way (the root included) is replaced by `{}`. `value` is stored as given:
 * copy it first if anything else holds it. Throws `ExprError` for bad syntax or an
 * index segment.
 */
export function writePath(ctx: Json, at: string, value: Json): Json {
  const segments = pathSegments(at);
  if (segments.length === 0) return value;
  for (const seg of segments) {
    if ("index" in seg) {
      throw new ExprError("shape", `write target cannot use an array index: ${at}`);
    }
  }
  const root: JsonObject = isObject(ctx) ? ctx : {};
  let cur = root;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as { key: string }; // index segments were refused above
    if (i === segments.length - 1) {
      setOwn(cur, seg.key, value);
    } else {
      let next = getOwn(cur, seg.key);
      if (!isObject(next)) {
        next = {};
        setOwn(cur, seg.key, next);
      }
      cur = next;
    }
  }
  return root;
}

/** What a shared write copied, and the widest object it may copy. */
export interface CopyWatch {
  /** Grows by the keys copied. */
  keys: number;
  /** Sees the key count of each object before it is copied; throws to refuse the write. */
  wide?(keys: number): void;
}

/**
 * Like {@link writePath}, but mutates nothing: the objects on the way to `at` are
 * copied (shallowly) and everything else is shared with `ctx`. This is how the flow
 * writes, since its values are immutable and shared between scopes. `copied.keys`,
 * when given, grows by the keys copied. The size of each copy is remembered from
 * its original's (json_bytes.ts), so measuring the result walks the path only.
 */
export function writeShared(
  ctx: Json,
  at: string,
  value: Json,
  copied?: CopyWatch,
): Json {
  const segments = pathSegments(at);
  if (segments.length === 0) return value;
  const keys: string[] = [];
  for (const seg of segments) {
    if ("index" in seg) {
      throw new ExprError("shape", `write target cannot use an array index: ${at}`);
    }
    keys.push(seg.key);
  }
  const write = (node: Json | undefined, i: number): JsonObject => {
    const out: JsonObject = {};
    const key = keys[i];
    const from = isObject(node) ? node : undefined;
    let count = 0;
    if (from) {
      const own = Object.keys(from);
      count = own.length;
      copied?.wide?.(count);
      if (copied) copied.keys += count;
      for (const k of own) setOwn(out, k, from[k]);
    }
    const next = i === keys.length - 1 ? value : write(from && getOwn(from, key), i + 1);
    const had = from !== undefined && Object.hasOwn(from, key);
    setOwn(out, key, next);
    if (from) rememberSetSize(out, from, count, key, had, next);
    return out;
  };
  return write(ctx, 0);
}
