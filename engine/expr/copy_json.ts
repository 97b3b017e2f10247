import type { Json, JsonObject } from "../../protocol/json.ts";
import { setOwn } from "./_own.ts";

/**
 * A deep copy of a JSON value. Own `__proto__` keys stay ordinary data keys.
 * (`structuredClone` preserves them too, but is slower for the small values the
 * flow copies most often and accepts non-JSON values.)
 */
export function copyJson<T extends Json>(v: T): T;
export function copyJson(v: Json): Json {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) {
    const out: Json[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = copyJson(v[i]);
    return out;
  }
  const out: JsonObject = {};
  for (const key of Object.keys(v)) setOwn(out, key, copyJson(v[key]));
  return out;
}
