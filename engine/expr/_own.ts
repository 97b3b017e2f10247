/**
 * Prototype-safe property access for JSON objects: keys such as `__proto__` are
 * ordinary data, reads see own properties only and writes never hit a setter.
 *
 * @module
 */
import type { Json, JsonObject } from "../../protocol/json.ts";

/** Whether `v` is a JSON object (not an array, not null). */
export function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The own property `key` of `obj`, or `undefined`. */
export function getOwn(obj: JsonObject, key: string): Json | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Sets the own property `key` of `obj` without invoking inherited setters. */
export function setOwn(obj: JsonObject, key: string, value: Json): void {
  if (key === "__proto__") {
    Object.defineProperty(obj, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else {
    obj[key] = value;
  }
}
