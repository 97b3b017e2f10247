/**
 * The size of a JSON value in bytes of its compact UTF-8 JSON text, without
 * writing the text. Flow values are immutable and share structure, so the size of
 * each object and array is remembered: a value built from shared parts (`array($.a,
 * $.a)`) is measured in time proportional to its own fields, not its expansion.
 *
 * @module
 */
import type { Json } from "../../protocol/json.ts";

const sizes = new WeakMap<object, number>();
/**
 * Sizes of long strings (a shared 1 MB string is scanned once, not per holder).
 * The map holds its strings, so it is bounded by their total length too: 4,096
 * distinct 2 MB strings from clients' runs once stayed pinned here (8 GB).
 */
const stringSizes = new Map<string, { s: string; n: number }>();
const LONG_STRING = 4096;
const MAX_STRING_SIZES = 4096;
const MAX_CACHED_CHARS = 32 * 1024 * 1024;
let cachedChars = 0;

/** Characters of the long strings whose sizes are remembered (for tests). */
export function cachedStringChars(): number {
  return cachedChars;
}

/**
 * Bytes of `JSON.stringify(v)` encoded as UTF-8 (lone surrogates count as their
 * `\uXXXX` escapes). The value and everything under it must never be mutated
 * afterwards, since sizes are remembered per object.
 */
export function jsonBytes(v: Json): number {
  switch (typeof v) {
    case "string":
      return v.length < LONG_STRING ? stringBytes(v) : longStringBytes(v);
    case "number":
      return JSON.stringify(v).length;
    case "boolean":
      return v ? 4 : 5;
  }
  if (v === null) return 4;
  const known = sizes.get(v);
  if (known !== undefined) return known;
  let n = 2;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) n += (i === 0 ? 0 : 1) + jsonBytes(v[i]);
  } else {
    let first = true;
    for (const key of Object.keys(v)) {
      n += (first ? 0 : 1) + stringBytes(key) + 1 + jsonBytes(v[key]);
      first = false;
    }
  }
  sizes.set(v, n);
  return n;
}

/**
 * Remembers the size of `out`, a new object that is `from` (whose own keys
 * `count` are) with `key` set to `value`, from the remembered size of `from`
 * alone: a write into an object of a million keys is measured without walking
 * them again. Does nothing when the size of `from` is not known.
 */
export function rememberSetSize(
  out: object,
  from: object,
  count: number,
  key: string,
  had: boolean,
  value: Json,
): void {
  const before = sizes.get(from);
  if (before === undefined) return;
  const old = had ? (from as Record<string, Json>)[key] : undefined;
  sizes.set(
    out,
    old !== undefined
      ? before - jsonBytes(old) + jsonBytes(value)
      : before + (count > 0 ? 1 : 0) + stringBytes(key) + 1 + jsonBytes(value),
  );
}

/**
 * A short key for a long string: its length and 48 of its characters. V8 hashes a
 * string over 16 Ki characters by its length alone, so a map keyed by the strings
 * themselves compared every cached string of the same length in full on each
 * lookup (a loop of distinct 1 MB strings spent 78% of its time there).
 */
function fingerprint(s: string): string {
  const step = Math.floor(s.length / 32);
  let f = `${s.length}:`;
  for (let i = 0; i < 32; i++) f += s[i * step];
  return f + s.slice(-16);
}

function longStringBytes(s: string): number {
  const key = fingerprint(s);
  const known = stringSizes.get(key);
  // one comparison at most (immediate when it is the same string)
  if (known !== undefined && known.s === s) return known.n;
  const n = stringBytes(s);
  if (s.length > MAX_CACHED_CHARS) return n;
  if (stringSizes.size >= MAX_STRING_SIZES || cachedChars + s.length > MAX_CACHED_CHARS) {
    stringSizes.clear();
    cachedChars = 0;
  }
  if (known !== undefined) cachedChars -= known.s.length;
  stringSizes.set(key, { s, n });
  cachedChars += s.length;
  return n;
}

function stringBytes(s: string): number {
  let n = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (
      c === 0x22 || c === 0x5c || c === 0x08 || c === 0x0c || c === 0x0a || c === 0x0d || c === 0x09
    ) n += 2;
    else if (c < 0x20) n += 6;
    else if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 6;
    } else if (c >= 0xdc00 && c <= 0xdfff) n += 6;
    else n += 3;
  }
  return n;
}
