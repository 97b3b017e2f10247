import type { Json } from "../../protocol/json.ts";

/** Flow truthiness: only `null` and `false` are falsy (`0`, `""`, `[]`, `{}` are truthy). */
export function isTruthy(v: Json): boolean {
  return v !== null && v !== false;
}
