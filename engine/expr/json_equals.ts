import type { Json } from "../../protocol/json.ts";
import { spend, type Work } from "./_work.ts";
import { KEY_UNITS, keyCount } from "./_key_count.ts";

/**
 * Deep structural JSON equality: numbers compare by value, object key order is
 * irrelevant and array order matters. With `work`, each value compared spends one
 * unit of it and each key listed {@link KEY_UNITS} (values share structure, so the
 * work is that of the written-out values, not of the memory they take).
 */
export function jsonEquals(a: Json, b: Json, work?: Work): boolean {
  if (work) spend(work, 1);
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEquals(a[i], b[i], work)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  if (work) {
    const n = keyCount(a, work);
    if (n !== keyCount(b, work)) return false;
    spend(work, n * KEY_UNITS);
  }
  const keys = Object.keys(a);
  if (!work && keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(b, key) || !jsonEquals(a[key], b[key], work)) return false;
  }
  return true;
}
