/**
 * The TS path grammar (reference/blueprint.md §2.2):
 *
 * ```
 * path    = "$" { segment }
 * segment = "." name | "[" json-string "]" | "[" index "]"
 * name    = one or more characters other than "." "[" "]" and the double quote
 * index   = "0" | digit1-9 { digit }
 * ```
 *
 * @module
 */
import { ExprError } from "./expr_error.ts";

/** One step of a path: an object key or an array index. */
export type PathSegment = { key: string } | { index: number };

const NAME_STOP = /[.[\]"]/;
const VALID_NAME = /^[^.[\]"]+$/;
const INDEX = /^(?:0|[1-9][0-9]*)$/;

/** Parses a path string into segments. Throws `ExprError` (`path`) on bad syntax. */
export function parsePath(at: string): PathSegment[] {
  const fail = (): never => {
    throw new ExprError("path", `invalid path syntax: ${at}`);
  };
  if (at[0] !== "$") fail();
  const segments: PathSegment[] = [];
  let i = 1;
  while (i < at.length) {
    const c = at[i];
    if (c === ".") {
      let j = i + 1;
      while (j < at.length && !NAME_STOP.test(at[j])) j++;
      if (j === i + 1) fail();
      segments.push({ key: at.slice(i + 1, j) });
      i = j;
    } else if (c === "[") {
      if (at[i + 1] === '"') {
        const end = jsonStringEnd(at, i + 1);
        if (end < 0 || at[end] !== "]") fail();
        const key = parseJsonString(at.slice(i + 1, end)) ?? fail();
        if (key === "") fail();
        segments.push({ key });
        i = end + 1;
      } else {
        const end = at.indexOf("]", i);
        const digits = end < 0 ? "" : at.slice(i + 1, end);
        if (!INDEX.test(digits)) fail();
        const index = Number(digits);
        if (!Number.isSafeInteger(index)) fail();
        segments.push({ index });
        i = end + 1;
      }
    } else {
      fail();
    }
  }
  return segments;
}

/**
 * The index just past the closing quote of the JSON string starting at `start`
 * (which must be a double quote), or -1 if it is unterminated.
 */
export function jsonStringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") i++;
    else if (c === '"') return i + 1;
  }
  return -1;
}

function parseJsonString(quoted: string): string | undefined {
  try {
    const v: unknown = JSON.parse(quoted);
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The canonical string of a segment list: `.name` when valid, else `["…"]`; `[n]` for indices. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = "$";
  for (const seg of segments) {
    if ("index" in seg) out += `[${seg.index}]`;
    else if (VALID_NAME.test(seg.key)) out += "." + seg.key;
    else out += "[" + JSON.stringify(seg.key) + "]";
  }
  return out;
}

/** The canonical form of a path string (`$["mock-gate"].v` → `$.mock-gate.v`). */
export function canonicalPath(at: string): string {
  return formatPath(parsePath(at));
}

/**
 * A memo of parsed paths, cleared whole once it holds `limit` paths or
 * `maxChars` characters of them (each held twice: the key and its segments; a
 * path may be long). `parse` turns a path text into its segments.
 */
export function pathMemo(
  limit: number,
  maxChars: number,
  parse: (at: string) => readonly PathSegment[] = parsePath,
) {
  const cache = new Map<string, readonly PathSegment[]>();
  let chars = 0;
  return {
    /** `parse(at)`, memoized. Do not mutate the result. */
    segments(at: string): readonly PathSegment[] {
      let segments = cache.get(at);
      if (segments === undefined) {
        segments = parse(at);
        if (cache.size >= limit || chars + at.length > maxChars) {
          cache.clear();
          chars = 0;
        }
        cache.set(at, segments);
        chars += at.length;
      }
      return segments;
    },
    /** Characters of the paths held now. */
    get chars(): number {
      return chars;
    },
  };
}

const evaluatorPaths = pathMemo(10_000, 1024 * 1024);

/** {@link parsePath}, memoized for the evaluator's hot path. Do not mutate the result. */
export function pathSegments(at: string): readonly PathSegment[] {
  return evaluatorPaths.segments(at);
}
