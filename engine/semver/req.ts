/**
 * Cargo-style version requirements (the Rust `semver` crate's `VersionReq`),
 * which differ from npm ranges: comma means "and", no operator means `^`, and a
 * pre-release version matches only a comparator of the same `MAJOR.MINOR.PATCH`
 * that carries a pre-release tag (reference/blueprint.md §4.4).
 *
 * @module
 */
import { SwitchboardError } from "../../protocol/errors.ts";
import {
  comparePre,
  type Cursor,
  peek,
  POSITION_NAME,
  readIdentifiers,
  readNumber,
  type SemVer,
  type SemverPosition,
  SemverSyntaxError,
} from "./version.ts";

/** A comparator operator. `*` is a wildcard without an operator (`1.*`), matched like `=`. */
export type SemverOp = "=" | ">" | ">=" | "<" | "<=" | "~" | "^" | "*";

/** One comparator: an operator and a possibly partial version. */
export interface SemverComparator {
  op: SemverOp;
  major: number;
  minor?: number;
  patch?: number;
  /** Pre-release identifiers; only with a patch. */
  pre: string[];
}

/** A requirement: every comparator must match. No comparators (`*`) matches every release. */
export interface SemverReq {
  comparators: SemverComparator[];
}

const MAX_COMPARATORS = 32;
const OPS = [">=", "<=", "=", ">", "<", "~", "^"] as const;
const WILDCARDS = new Set(["*", "x", "X"]);

function skipSpaces(cur: Cursor): void {
  while (peek(cur) === " ") cur.at++;
}

function readOp(cur: Cursor): SemverOp | undefined {
  for (const op of OPS) {
    if (cur.text.startsWith(op, cur.at)) {
      cur.at += op.length;
      return op;
    }
  }
  return undefined;
}

function readWildcard(cur: Cursor): boolean {
  if (!WILDCARDS.has(peek(cur) ?? "")) return false;
  cur.at++;
  return true;
}

function readComparator(cur: Cursor): { cmp: SemverComparator; pos: SemverPosition } {
  const explicit = readOp(cur);
  let op: SemverOp = explicit ?? "^";
  skipSpaces(cur);
  let pos: SemverPosition = "major";
  const major = readNumber(cur, pos);
  let minor: number | undefined;
  let patch: number | undefined;
  let wildcard = false;
  if (peek(cur) === ".") {
    cur.at++;
    pos = "minor";
    if (readWildcard(cur)) {
      wildcard = true;
      if (explicit === undefined) op = "*";
    } else {
      minor = readNumber(cur, pos);
    }
  }
  if (peek(cur) === ".") {
    cur.at++;
    pos = "patch";
    if (readWildcard(cur)) {
      if (explicit === undefined) op = "*";
    } else if (wildcard) {
      throw new SemverSyntaxError("unexpected character after wildcard in version req");
    } else {
      patch = readNumber(cur, pos);
    }
  }
  let pre: string[] = [];
  if (patch !== undefined && peek(cur) === "-") {
    cur.at++;
    pos = "pre-release";
    pre = readIdentifiers(cur, pos);
  }
  if (patch !== undefined && peek(cur) === "+") {
    cur.at++;
    pos = "build metadata";
    readIdentifiers(cur, pos); // build metadata is ignored for matching
  }
  skipSpaces(cur);
  const cmp: SemverComparator = { op, major, pre };
  if (minor !== undefined) cmp.minor = minor;
  if (patch !== undefined) cmp.patch = patch;
  return { cmp, pos };
}

/** Parses a requirement; throws {@link SemverSyntaxError}. */
export function parseSemverReqStrict(text: string): SemverReq {
  const cur: Cursor = { text, at: 0 };
  skipSpaces(cur);
  if (peek(cur) === undefined) throw new SemverSyntaxError("empty version requirement");
  if (readWildcard(cur)) {
    skipSpaces(cur);
    if (peek(cur) === undefined) return { comparators: [] };
    if (peek(cur) === ",") {
      throw new SemverSyntaxError(
        "wildcard req (*) must be the only comparator in the version req",
      );
    }
    throw new SemverSyntaxError("unexpected character after wildcard in version req");
  }
  const comparators: SemverComparator[] = [];
  for (;;) {
    const { cmp, pos } = readComparator(cur);
    comparators.push(cmp);
    if (peek(cur) === undefined) return { comparators };
    if (peek(cur) !== ",") {
      throw new SemverSyntaxError(
        `expected comma after ${POSITION_NAME[pos]}, found '${peek(cur)}'`,
      );
    }
    cur.at++;
    skipSpaces(cur);
    if (comparators.length === MAX_COMPARATORS) {
      throw new SemverSyntaxError(
        `excessive number of version comparators (max ${MAX_COMPARATORS})`,
      );
    }
  }
}

/**
 * Parses a Cargo-style requirement. Throws `SwitchboardError` (`bad_request`) with
 * `invalid semver req "<text>": <detail>`; an empty requirement is rejected.
 */
export function parseSemverReq(text: string): SemverReq {
  try {
    return parseSemverReqStrict(text);
  } catch (err) {
    if (!(err instanceof SemverSyntaxError)) throw err;
    throw new SwitchboardError("bad_request", `invalid semver req "${text}": ${err.detail}`, {
      cause: err,
    });
  }
}

/** True when `v` satisfies every comparator of `req`, with the pre-release rule. */
export function matchesReq(req: SemverReq, v: SemVer): boolean {
  if (!req.comparators.every((cmp) => matchesComparator(cmp, v))) return false;
  if (v.pre.length === 0) return true;
  return req.comparators.some((cmp) =>
    cmp.major === v.major && cmp.minor === v.minor && cmp.patch === v.patch && cmp.pre.length > 0
  );
}

function matchesComparator(cmp: SemverComparator, v: SemVer): boolean {
  switch (cmp.op) {
    case "=":
    case "*":
      return exact(cmp, v);
    case ">":
      return greater(cmp, v);
    case ">=":
      return exact(cmp, v) || greater(cmp, v);
    case "<":
      return less(cmp, v);
    case "<=":
      return exact(cmp, v) || less(cmp, v);
    case "~":
      return tilde(cmp, v);
    case "^":
      return caret(cmp, v);
  }
}

function exact(cmp: SemverComparator, v: SemVer): boolean {
  if (v.major !== cmp.major) return false;
  if (cmp.minor !== undefined && v.minor !== cmp.minor) return false;
  if (cmp.patch !== undefined && v.patch !== cmp.patch) return false;
  return comparePre(v.pre, cmp.pre) === 0;
}

/** Shared walk of `>` and `<`: `sign` is 1 for greater, -1 for less. */
function beyond(cmp: SemverComparator, v: SemVer, sign: 1 | -1): boolean {
  if (v.major !== cmp.major) return Math.sign(v.major - cmp.major) === sign;
  if (cmp.minor === undefined) return false;
  if (v.minor !== cmp.minor) return Math.sign(v.minor - cmp.minor) === sign;
  if (cmp.patch === undefined) return false;
  if (v.patch !== cmp.patch) return Math.sign(v.patch - cmp.patch) === sign;
  return comparePre(v.pre, cmp.pre) === sign;
}

function greater(cmp: SemverComparator, v: SemVer): boolean {
  return beyond(cmp, v, 1);
}

function less(cmp: SemverComparator, v: SemVer): boolean {
  return beyond(cmp, v, -1);
}

function tilde(cmp: SemverComparator, v: SemVer): boolean {
  if (v.major !== cmp.major) return false;
  if (cmp.minor !== undefined && v.minor !== cmp.minor) return false;
  if (cmp.patch !== undefined && v.patch !== cmp.patch) return v.patch > cmp.patch;
  return comparePre(v.pre, cmp.pre) >= 0;
}

function caret(cmp: SemverComparator, v: SemVer): boolean {
  if (v.major !== cmp.major) return false;
  if (cmp.minor === undefined) return true;
  if (cmp.patch === undefined) return cmp.major > 0 ? v.minor >= cmp.minor : v.minor === cmp.minor;
  if (cmp.major > 0) {
    if (v.minor !== cmp.minor) return v.minor > cmp.minor;
    if (v.patch !== cmp.patch) return v.patch > cmp.patch;
  } else if (cmp.minor > 0) {
    if (v.minor !== cmp.minor) return false;
    if (v.patch !== cmp.patch) return v.patch > cmp.patch;
  } else if (v.minor !== cmp.minor || v.patch !== cmp.patch) {
    return false;
  }
  return comparePre(v.pre, cmp.pre) >= 0;
}
