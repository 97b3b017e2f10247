/**
 * The tokenizer of the compact text syntax (reference/blueprint.md §3.3), shared
 * with the template subset (§3.4), where it also reads variables, `|`, and stops
 * at the tag terminator (`}}` or `%}`, optionally preceded by `-`).
 *
 * @module
 */
import type { Json } from "../../protocol/json.ts";
import { formatPath, jsonStringEnd, type PathSegment } from "./parse_path.ts";

/** A token. `text` is the source slice; `at` is the canonical path of a path token. */
export interface Token {
  type: "num" | "str" | "path" | "word" | "op" | "end";
  pos: number;
  text: string;
  value?: Json;
  at?: string;
}

/** Reports a problem at a source offset; never returns. */
export type Fail = (pos: number, detail: string, kind?: "syntax" | "limit") => never;

/** Options of {@link lex}. */
export interface LexOptions {
  /** Template mode: `and`/`or`/`not`, variables, `|`, and a terminator. */
  template?: boolean;
  /** Stop at this terminator (or `-` + it) at bracket depth 0. */
  terminator?: "}}" | "%}";
}

/** The tokens, and where the terminator starts (`end`) and ends (`after`). */
export interface LexResult {
  tokens: Token[];
  end: number;
  after: number;
  strip: boolean;
}

/** Words with a fixed meaning in text mode. */
const KEYWORDS = new Set(["true", "false", "null", "in"]);
/** Extra words in template mode. */
const TEMPLATE_KEYWORDS = new Set(["and", "or", "not"]);
/** Names that are calls when followed by `(`. */
export const CALLS = new Set(["exists", "len", "if", "coalesce", "concat"]);

const OPS = [
  "==",
  "!=",
  "<=",
  ">=",
  "&&",
  "||",
  "<",
  ">",
  "!",
  "+",
  "-",
  "*",
  "/",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  ",",
  ":",
];
const IDENT = /[\p{L}_][\p{L}\p{N}_]*/uy;
const IDENT_CHAR = /[\p{L}\p{N}_]/u;
const NUMBER = /(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const INDEX = /(?:0|[1-9][0-9]*)/y;

function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r";
}

/** Tokenizes `source` from `start` to its end (text mode) or to the terminator. */
export function lex(
  source: string,
  start: number,
  fail: Fail,
  options: LexOptions = {},
): LexResult {
  const template = options.template ?? false;
  const terminator = options.terminator;
  const tokens: Token[] = [];
  let depth = 0;
  let i = start;

  const matchAt = (re: RegExp, at: number): string | undefined => {
    re.lastIndex = at;
    return re.exec(source)?.[0];
  };

  const readString = (at: number): { value: string; end: number } => {
    if (source[at] === '"') {
      const end = jsonStringEnd(source, at);
      if (end < 0) fail(at, "unterminated string");
      return { value: parseString(source.slice(at, end), at, fail), end };
    }
    let json = '"';
    for (let j = at + 1; j < source.length; j++) {
      const c = source[j];
      if (c === "'") return { value: parseString(json + '"', at, fail), end: j + 1 };
      if (c === "\\") {
        const n = source[j + 1] ?? "";
        json += n === "'" ? "'" : "\\" + n;
        j++;
      } else {
        json += c === '"' ? '\\"' : c;
      }
    }
    return fail(at, "unterminated string");
  };

  // Reads `{ "." ident | "[" (string | index) "]" }` from `at`, with no spaces inside.
  const readSegments = (at: number, segments: PathSegment[]): number => {
    let j = at;
    for (;;) {
      if (source[j] === ".") {
        const name = matchAt(IDENT, j + 1);
        if (name === undefined) fail(j + 1, "expected a key name after '.'");
        segments.push({ key: name });
        j += 1 + name.length;
      } else if (source[j] === "[") {
        const c = source[j + 1];
        if (c === '"' || c === "'") {
          const { value, end } = readString(j + 1);
          if (value === "") fail(j + 1, "empty key");
          segments.push({ key: value });
          j = end;
        } else {
          const digits = matchAt(INDEX, j + 1);
          if (digits === undefined) fail(j + 1, "expected a string or an index after '['");
          segments.push({ index: Number(digits) });
          j += 1 + digits.length;
        }
        if (source[j] !== "]") fail(j, "expected ']'");
        j++;
      } else {
        return j;
      }
    }
  };

  for (;;) {
    while (isSpace(source[i])) i++;
    if (terminator !== undefined && depth <= 0) {
      const strip = source[i] === "-" && source.startsWith(terminator, i + 1);
      if (strip || source.startsWith(terminator, i)) {
        tokens.push({ type: "end", pos: i, text: "" });
        return { tokens, end: i, after: i + terminator.length + (strip ? 1 : 0), strip };
      }
    }
    if (i >= source.length) {
      if (terminator !== undefined) fail(i, `expected '${terminator}'`);
      tokens.push({ type: "end", pos: i, text: "" });
      return { tokens, end: i, after: i, strip: false };
    }
    const c = source[i];
    const pos = i;
    if (c === "$") {
      if (source[i + 1] !== undefined && IDENT_CHAR.test(source[i + 1])) {
        fail(i + 1, "expected '.' or '[' after '$'");
      }
      const segments: PathSegment[] = [];
      i = readSegments(i + 1, segments);
      tokens.push({ type: "path", pos, text: source.slice(pos, i), at: formatPath(segments) });
    } else if (c >= "0" && c <= "9") {
      const text = matchAt(NUMBER, i) as string; // a digit always matches
      i += text.length;
      const next = source[i];
      if (next !== undefined && (next === "." || IDENT_CHAR.test(next))) {
        fail(pos, "invalid number");
      }
      const value = Number(text);
      if (!Number.isFinite(value)) fail(pos, "number out of range");
      tokens.push({ type: "num", pos, text, value });
    } else if (c === '"' || c === "'") {
      const { value, end } = readString(i);
      i = end;
      tokens.push({ type: "str", pos, text: source.slice(pos, i), value });
    } else if (IDENT_CHAR.test(c)) {
      const name = matchAt(IDENT, i);
      if (name === undefined) fail(i, `unexpected character '${c}'`);
      i += name.length;
      let j = i;
      while (isSpace(source[j])) j++;
      const isWord = KEYWORDS.has(name) || (template && TEMPLATE_KEYWORDS.has(name)) ||
        !template || (CALLS.has(name) && source[j] === "(");
      if (isWord) {
        tokens.push({ type: "word", pos, text: name });
      } else {
        const segments: PathSegment[] = [{ key: name }];
        i = readSegments(i, segments);
        const at = "@" + formatPath(segments).slice(1);
        tokens.push({ type: "path", pos, text: source.slice(pos, i), at });
      }
    } else {
      const op = OPS.find((o) => source.startsWith(o, i)) ??
        (template && c === "|" ? "|" : fail(i, `unexpected character '${c}'`));
      if (op === "(" || op === "[" || op === "{") depth++;
      else if (op === ")" || op === "]" || op === "}") depth--;
      i += op.length;
      tokens.push({ type: "op", pos, text: op });
    }
  }
}

function parseString(json: string, pos: number, fail: Fail): string {
  try {
    return JSON.parse(json);
  } catch {
    return fail(pos, "invalid string literal");
  }
}
