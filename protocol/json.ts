/**
 * JSON values. Every free-form wire value is validated as JSON, by a hand check
 * without recursion (zod's `z.json()` recursed per level and was slow on large
 * values): finite numbers, plain objects and arrays, at most
 * {@link MAX_JSON_DEPTH} levels of nesting.
 *
 * @module
 */
import { z } from "./zod.ts";

/** The deepest accepted nesting of arrays and objects in a JSON value. */
export const MAX_JSON_DEPTH = 128;

/** Any JSON value. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** Why a value is not JSON, and where (keys and indexes from the value's root). */
export interface JsonProblem {
  path: (string | number)[];
  message: string;
}

/**
 * Why `v` is not a JSON value within {@link MAX_JSON_DEPTH} levels, or undefined
 * when it is one. Iterative, so any depth is safe to check.
 */
export function jsonProblem(v: unknown): JsonProblem | undefined {
  type Item = { x: unknown; depth: number; key?: string | number; up?: Item };
  const stack: Item[] = [{ x: v, depth: 0 }];
  const at = (item: Item, message: string): JsonProblem => {
    const path: (string | number)[] = [];
    for (let i: Item | undefined = item; i?.key !== undefined; i = i.up) path.unshift(i.key);
    return { path, message };
  };
  while (stack.length > 0) {
    const item = stack.pop()!;
    const { x, depth } = item;
    switch (typeof x) {
      case "string":
      case "boolean":
        continue;
      case "number":
        if (!Number.isFinite(x)) return at(item, "numbers must be finite");
        continue;
      case "undefined":
        return at(item, "required");
      case "object":
        break;
      default:
        return at(item, `expected a JSON value, got ${typeof x}`);
    }
    if (x === null) continue;
    if (depth >= MAX_JSON_DEPTH) {
      return at(item, `JSON nesting deeper than ${MAX_JSON_DEPTH} levels`);
    }
    if (Array.isArray(x)) {
      for (let i = x.length - 1; i >= 0; i--) {
        stack.push({ x: x[i], depth: depth + 1, key: i, up: item });
      }
      continue;
    }
    const proto = Object.getPrototypeOf(x);
    if (proto !== Object.prototype && proto !== null) {
      return at(item, "expected a plain JSON object");
    }
    const keys = Object.keys(x);
    for (let i = keys.length - 1; i >= 0; i--) {
      const value = (x as Record<string, unknown>)[keys[i]];
      stack.push({ x: value, depth: depth + 1, key: keys[i], up: item });
    }
  }
  return undefined;
}

/**
 * True when JSON text opens more than `max` arrays or objects at once (by default
 * {@link MAX_JSON_DEPTH}, so that its value would fail {@link jsonProblem}). One pass over the text
 * (strings skipped) that allocates nothing: a client's 2 MiB of `[` costs a few
 * milliseconds here, where `JSON.parse` spent 0.3 to 0.9 s building a million arrays
 * before the depth check could refuse them.
 */
export function jsonTextTooDeep(text: string, max: number = MAX_JSON_DEPTH): boolean {
  if (text.length <= max) return false; // too short to open more than `max` levels
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // a string: skip to its closing quote
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** Nesting a value may have and still be {@link parsedJsonKind} "plain" (deeper ones go to zod). */
export const MAX_PLAIN_DEPTH = 64;

/**
 * What one walk of `v`, a value from `JSON.parse`, finds (without allocating:
 * the request path walks every body):
 * - `"problem"`: it has a {@link jsonProblem}, which can only be a number too large
 *   to be finite (`1e999`) or nesting deeper than {@link MAX_JSON_DEPTH};
 * - `"plain"`: besides, `z.json()` takes it unchanged (no `__proto__` key, at most
 *   {@link MAX_PLAIN_DEPTH} levels), so a hand check of a hot route may skip zod;
 * - `"fits"`: anything else.
 */
export function parsedJsonKind(v: unknown): "problem" | "fits" | "plain" {
  return (["problem", "fits", "plain"] as const)[kindOf(v, 0)];
}

/** 0: a problem, 1: fits, 2: plain (see {@link parsedJsonKind}). */
function kindOf(v: unknown, depth: number): 0 | 1 | 2 {
  if (typeof v === "number") return Number.isFinite(v) ? 2 : 0;
  if (typeof v !== "object" || v === null) return 2;
  if (depth >= MAX_JSON_DEPTH) return 0;
  let kind: 0 | 1 | 2 = depth >= MAX_PLAIN_DEPTH ? 1 : 2;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const k = kindOf(v[i], depth + 1);
      if (k < kind) kind = k;
      if (kind === 0) return 0;
    }
    return kind;
  }
  for (const key in v) {
    if (key === "__proto__") kind = 1;
    const k = kindOf((v as Record<string, unknown>)[key], depth + 1);
    if (k < kind) kind = k;
    if (kind === 0) return 0;
  }
  return kind;
}

/** True when `v` (from `JSON.parse`) is {@link parsedJsonKind} "plain". */
export function isPlainJson(v: unknown): boolean {
  return kindOf(v, 0) === 2;
}

/**
 * Any JSON value (see {@link jsonProblem}). Built on `z.any()` so it still has a
 * JSON Schema (`{}`); the check narrows it to `Json`.
 */
export const Json: z.ZodType<Json> = z.any().superRefine((v, ctx) => {
  const problem = jsonProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: problem.message, path: problem.path });
});
