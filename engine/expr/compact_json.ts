import type { Json } from "../../protocol/json.ts";

/**
 * Orders two strings by Unicode code point (the byte order of their UTF-8 forms),
 * which is how the reference's key-ordered JSON maps sort.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) return codePointRank(ca) - codePointRank(cb);
  }
  return a.length - b.length;
}

// UTF-16 orders surrogates (D800–DFFF) below E000–FFFF; code point order puts them above.
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit <= 0xdfff ? unit + 0x2000 : unit - 0x800;
}

/** The keys of an object in code-point order. */
export function sortedKeys(obj: { [key: string]: unknown }): string[] {
  return Object.keys(obj).sort(compareKeys);
}

/** Compact JSON: no whitespace, object keys sorted recursively (code-point order). */
export function compactJson(v: Json): string {
  if (typeof v !== "object" || v === null) return JSON.stringify(v);
  if (Array.isArray(v)) {
    let out = "[";
    for (let i = 0; i < v.length; i++) out += (i === 0 ? "" : ",") + compactJson(v[i]);
    return out + "]";
  }
  let out = "{";
  let first = true;
  for (const key of sortedKeys(v)) {
    out += (first ? "" : ",") + JSON.stringify(key) + ":" + compactJson(v[key]);
    first = false;
  }
  return out + "}";
}

/** A step's directive text: a string verbatim, anything else as {@link compactJson}. */
export function directiveText(v: Json): string {
  return typeof v === "string" ? v : compactJson(v);
}
