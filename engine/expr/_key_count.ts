/**
 * Key counts of flow objects, remembered: a flow value is immutable, and listing
 * the keys of a large object is slow (400,000 keys: 90 ms), so `len`, `eq` and
 * template truthiness list a given object once, not at every evaluation.
 *
 * @module
 */
import type { JsonObject } from "../../protocol/json.ts";
import { spend, type Work } from "./_work.ts";

/** Work units per key listed (listing costs about 24 times a value comparison). */
export const KEY_UNITS = 24;

const counts = new WeakMap<JsonObject, number>();

/** The number of keys of `obj`; the first count of an object spends from `work`. */
export function keyCount(obj: JsonObject, work?: Work): number {
  let n = counts.get(obj);
  if (n === undefined) {
    n = Object.keys(obj).length;
    counts.set(obj, n);
    if (work) spend(work, n * KEY_UNITS);
  }
  return n;
}
