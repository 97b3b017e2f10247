/**
 * Strict semantic versions (`MAJOR.MINOR.PATCH[-pre][+build]`, no `v` prefix, no
 * spaces), as the Rust `semver` crate parses them, and SemVer 2.0 precedence.
 *
 * @module
 */
import { SwitchboardError } from "../../protocol/errors.ts";

/** A parsed semantic version. `pre` and `build` hold the dot-separated identifiers. */
export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  pre: string[];
  build: string[];
}

/** Which part of a version a parse error is about. */
export type SemverPosition = "major" | "minor" | "patch" | "pre-release" | "build metadata";

/** How messages name each position. */
export const POSITION_NAME: Record<SemverPosition, string> = {
  major: "major version number",
  minor: "minor version number",
  patch: "patch version number",
  "pre-release": "pre-release identifier",
  "build metadata": "build metadata",
};

/** A parse failure; `detail` reads like the Rust crate's messages. */
export class SemverSyntaxError extends Error {
  constructor(readonly detail: string) {
    super(detail);
    this.name = "SemverSyntaxError";
  }
}

/** A cursor over the text being parsed; shared with the requirement parser. */
export interface Cursor {
  text: string;
  at: number;
}

/** The character at the cursor, or undefined at the end. */
export function peek(cur: Cursor): string | undefined {
  return cur.at < cur.text.length ? cur.text[cur.at] : undefined;
}

/** Describes an unexpected character or the end of input while parsing `pos`. */
export function unexpected(cur: Cursor, pos: SemverPosition, after = false): SemverSyntaxError {
  const ch = peek(cur);
  if (ch === undefined) {
    return new SemverSyntaxError(`unexpected end of input while parsing ${POSITION_NAME[pos]}`);
  }
  const where = after ? "after" : "while parsing";
  return new SemverSyntaxError(`unexpected character '${ch}' ${where} ${POSITION_NAME[pos]}`);
}

/** Reads a numeric identifier (no leading zero, at most 2^53 - 1). */
export function readNumber(cur: Cursor, pos: SemverPosition): number {
  const start = cur.at;
  while (/[0-9]/.test(peek(cur) ?? "")) cur.at++;
  const digits = cur.text.slice(start, cur.at);
  if (digits === "") throw unexpected(cur, pos);
  if (digits.length > 1 && digits[0] === "0") {
    throw new SemverSyntaxError(`invalid leading zero in ${POSITION_NAME[pos]}`);
  }
  const value = Number(digits);
  if (!Number.isSafeInteger(value)) {
    throw new SemverSyntaxError(`value of ${POSITION_NAME[pos]} exceeds 9007199254740991`);
  }
  return value;
}

/** Reads dot-separated `[0-9A-Za-z-]` identifiers (pre-release or build). */
export function readIdentifiers(cur: Cursor, pos: "pre-release" | "build metadata"): string[] {
  const out: string[] = [];
  for (;;) {
    const start = cur.at;
    while (/[0-9A-Za-z-]/.test(peek(cur) ?? "")) cur.at++;
    const ident = cur.text.slice(start, cur.at);
    if (ident === "") {
      throw new SemverSyntaxError(`empty identifier segment in ${POSITION_NAME[pos]}`);
    }
    if (pos === "pre-release" && /^[0-9]+$/.test(ident) && ident.length > 1 && ident[0] === "0") {
      throw new SemverSyntaxError(`invalid leading zero in ${POSITION_NAME[pos]}`);
    }
    out.push(ident);
    if (peek(cur) !== ".") return out;
    cur.at++;
  }
}

/** Parses `text` as a strict semantic version; throws {@link SemverSyntaxError}. */
export function parseSemverStrict(text: string): SemVer {
  const cur: Cursor = { text, at: 0 };
  const major = readNumber(cur, "major");
  if (peek(cur) !== ".") throw unexpected(cur, "major", peek(cur) !== undefined);
  cur.at++;
  const minor = readNumber(cur, "minor");
  if (peek(cur) !== ".") throw unexpected(cur, "minor", peek(cur) !== undefined);
  cur.at++;
  const patch = readNumber(cur, "patch");
  let pos: SemverPosition = "patch";
  let pre: string[] = [];
  let build: string[] = [];
  if (peek(cur) === "-") {
    cur.at++;
    pos = "pre-release";
    pre = readIdentifiers(cur, pos);
  }
  if (peek(cur) === "+") {
    cur.at++;
    pos = "build metadata";
    build = readIdentifiers(cur, pos);
  }
  if (peek(cur) !== undefined) throw unexpected(cur, pos, true);
  return { major, minor, patch, pre, build };
}

/**
 * Parses a strict semantic version. Throws `SwitchboardError` (`bad_request`)
 * with `invalid semver "<text>": <detail>`.
 */
export function parseSemver(text: string): SemVer {
  try {
    return parseSemverStrict(text);
  } catch (err) {
    if (!(err instanceof SemverSyntaxError)) throw err;
    throw new SwitchboardError("bad_request", `invalid semver "${text}": ${err.detail}`, {
      cause: err,
    });
  }
}

/** True when `text` is a strict semantic version. */
export function isSemver(text: string): boolean {
  try {
    parseSemverStrict(text);
    return true;
  } catch {
    return false;
  }
}

/** Writes a version back as text. */
export function formatSemver(v: SemVer): string {
  const pre = v.pre.length > 0 ? `-${v.pre.join(".")}` : "";
  const build = v.build.length > 0 ? `+${v.build.join(".")}` : "";
  return `${v.major}.${v.minor}.${v.patch}${pre}${build}`;
}

/**
 * Compares pre-release identifier lists by SemVer precedence: an empty list (a
 * release) ranks above any pre-release.
 */
export function comparePre(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) {
    if (a.length === b.length) return 0;
    return a.length === 0 ? 1 : -1;
  }
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareIdentifier(a[i], b[i]);
    if (c !== 0) return c;
  }
  return Math.sign(a.length - b.length);
}

function compareIdentifier(a: string, b: string): number {
  const an = /^[0-9]+$/.test(a);
  const bn = /^[0-9]+$/.test(b);
  // numeric identifiers have no leading zero, so the longer one is larger
  if (an && bn) return Math.sign(a.length - b.length) || (a < b ? -1 : a > b ? 1 : 0);
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** SemVer 2.0 precedence: negative, zero or positive. Build metadata is ignored. */
export function compareSemver(a: SemVer, b: SemVer): number {
  return Math.sign(a.major - b.major) || Math.sign(a.minor - b.minor) ||
    Math.sign(a.patch - b.patch) || comparePre(a.pre, b.pre);
}
