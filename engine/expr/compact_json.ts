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

/** The most characters of a value an error text shows (then `…`). */
export const PREVIEW_CHARS = 256;

/**
 * The first `maxChars` characters (at most) of {@link compactJson}`(v)`, and whether
 * the whole text is longer. It stops writing there, so a value of any size (shared
 * parts counted each time they appear) costs at most about `maxChars` of work.
 */
export function compactJsonPrefix(v: Json, maxChars: number): { text: string; cut: boolean } {
  const parts: string[] = [];
  let left = maxChars;
  const put = (s: string): boolean => {
    if (s.length > left) {
      parts.push(s.slice(0, left));
      left = 0;
      return false;
    }
    parts.push(s);
    left -= s.length;
    return true;
  };
  const write = (x: Json): boolean => {
    if (typeof x === "string") {
      // a string's JSON is at least as long as the string: cut it before stringifying
      if (x.length <= left) return put(JSON.stringify(x));
      put(JSON.stringify(x.slice(0, left)));
      return false;
    }
    if (typeof x !== "object" || x === null) return put(JSON.stringify(x));
    if (Array.isArray(x)) {
      if (!put("[")) return false;
      for (let i = 0; i < x.length; i++) {
        if ((i > 0 && !put(",")) || !write(x[i])) return false;
      }
      return put("]");
    }
    if (!put("{")) return false;
    const keys = Object.keys(x);
    // each member takes 4 characters at least (`"":0`): too many to fit are not sorted
    if (keys.length * 4 > left) return false;
    keys.sort(compareKeys);
    for (let i = 0; i < keys.length; i++) {
      if ((i > 0 && !put(",")) || !put(JSON.stringify(keys[i]) + ":") || !write(x[keys[i]])) {
        return false;
      }
    }
    return put("}");
  };
  const whole = write(v);
  return { text: parts.join(""), cut: !whole };
}

/** {@link compactJson}, or `undefined` when it would be longer than `maxChars` characters. */
export function compactJsonWithin(v: Json, maxChars: number): string | undefined {
  const { text, cut } = compactJsonPrefix(v, maxChars);
  return cut ? undefined : text;
}

/**
 * A value as an error text shows it: {@link compactJson}, cut after
 * {@link PREVIEW_CHARS} characters with `…` (a run's value may be megabytes, or
 * gigabytes once its shared parts are written out).
 */
export function previewJson(v: Json): string {
  const { text, cut } = compactJsonPrefix(v, PREVIEW_CHARS);
  return cut ? text + "…" : text;
}
