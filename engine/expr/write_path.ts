import type { Json, JsonObject } from "../../protocol/json.ts";
import { ExprError } from "./expr_error.ts";
import { getOwn, isObject, setOwn } from "./_own.ts";
import { pathSegments } from "./parse_path.ts";

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

/**
 * Like {@link writePath}, but mutates nothing: the objects on the way to `at` are
 * copied (shallowly) and everything else is shared with `ctx`. This is how the flow
 * writes, since its values are immutable and shared between scopes. `copied.keys`,
 * when given, grows by the keys copied.
 */
export function writeShared(
  ctx: Json,
  at: string,
  value: Json,
  copied?: { keys: number },
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
    if (isObject(node)) {
      const keys = Object.keys(node);
      if (copied) copied.keys += keys.length;
      for (const key of keys) setOwn(out, key, node[key]);
    }
    const next = i === keys.length - 1
      ? value
      : write(isObject(node) ? getOwn(node, keys[i]) : undefined, i + 1);
    setOwn(out, keys[i], next);
    return out;
  };
  return write(ctx, 0);
}
